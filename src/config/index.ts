/** The config stage: find and read `auditsweep.yaml`, merge it with the flags and the defaults. */
import { formatIssue } from '../inventory/load.js';
import type { Checked } from '../inventory/types.js';
import { type ConfigFile, type ConfigIssue, findConfigFile, loadConfigFile } from './load.js';
import { COMMAND_LINE, mergeSettings, type SweepFlagValues, type SweepSettings } from './merge.js';

export {
  type ConfigFile,
  type ConfigIssue,
  type FindConfigOptions,
  findConfigFile,
  loadConfigFile,
  parseConfigText,
} from './load.js';
export {
  COMMAND_LINE,
  DEFAULTS,
  type MergeOptions,
  mergeSettings,
  type SettingSource,
  type SweepFlagValues,
  type SweepSettings,
} from './merge.js';
export { CONFIG_ENV, CONFIG_FILE_NAME } from './schema.js';

/**
 * `auditsweep.yaml:7: mail.smtp: … (fix: …)` for the file; `--concurrency takes a whole number ≥ 1, got x` for a
 * flag (the message reads on from the flag's name).
 */
export function formatConfigIssue(issue: ConfigIssue): string {
  if (issue.file !== COMMAND_LINE) return formatIssue(issue);
  const fix = issue.fix === undefined ? '' : ` (fix: ${issue.fix})`;
  return `${issue.key === undefined ? '' : `${issue.key} `}${issue.message}${fix}`;
}

export interface ResolveOptions {
  /** `--config FILE`. */
  readonly configFlag?: string | undefined;
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly cwd?: string;
  readonly now?: number;
}

/** The config file (if any) as found and checked: its issues come first. */
export async function resolveConfigFile(
  options: ResolveOptions = {},
): Promise<Checked<ConfigFile | undefined, ConfigIssue>> {
  const found = findConfigFile({
    flag: options.configFlag,
    ...(options.env ? { env: options.env } : {}),
    ...(options.cwd ? { cwd: options.cwd } : {}),
  });
  if (found === undefined) return { value: undefined, errors: [], warnings: [] };
  return loadConfigFile(found.path, options.env);
}

/** Config file (found as documented) + flags + defaults → the settings of a sweep, or every issue. */
export async function resolveSweepSettings(
  flags: SweepFlagValues,
  options: ResolveOptions = {},
): Promise<Checked<SweepSettings, ConfigIssue>> {
  const config = await resolveConfigFile(options);
  if (config.errors.length > 0) return { errors: config.errors, warnings: config.warnings };
  const merged = mergeSettings(flags, config.value, {
    ...(options.cwd ? { cwd: options.cwd } : {}),
    ...(options.now === undefined ? {} : { now: options.now }),
  });
  return { ...merged, warnings: [...config.warnings, ...merged.warnings] };
}
