/** Column sets of the report CSVs other than events.csv (whose columns live with the row type in types.ts). */
import type { InventoryHost } from '../inventory/types.js';
import type { HostOutcome, ParseCounters, ParseIssue } from '../types.js';

/** parse-issues.csv: one row per line that could not be used. */
export const ISSUE_COLUMNS = ['host', 'file', 'line', 'reason', 'detail'] as const;

export function issueRow(host: string, issue: ParseIssue): Record<(typeof ISSUE_COLUMNS)[number], string> {
  return { host, file: issue.file, line: String(issue.line), reason: issue.reason, detail: issue.detail };
}

/**
 * hosts.csv: one row per selected host. The first eight columns are a contract (issue #3); `outcome` is ok,
 * partial or failed, `code` one of the host failure codes (empty when ok).
 */
export const HOST_COLUMNS = [
  'host',
  'outcome',
  'code',
  'message',
  'files',
  'bytes',
  'events',
  'duration_ms',
  'address',
  'port',
  'user',
  'transport',
  'lines',
  'bad_lines',
  'warnings',
] as const;

/** Where a host's logs came from: an inventory host, or local files (`parse`: no address, transport `local`). */
export type HostOrigin = Pick<InventoryHost, 'name' | 'user'> & {
  readonly address?: string | undefined;
  readonly port?: number | undefined;
  readonly transport: InventoryHost['transport'] | 'local';
};

/** hosts.csv's row of one host. */
export function hostRow(
  host: HostOrigin,
  outcome: HostOutcome,
  detail: { counters: ParseCounters; warnings: readonly string[] },
): Record<(typeof HOST_COLUMNS)[number], string> {
  return {
    host: host.name,
    outcome: outcome.status,
    code: outcome.code ?? '',
    message: outcome.message,
    files: String(outcome.files),
    bytes: String(outcome.bytes),
    events: String(outcome.events),
    duration_ms: String(outcome.durationMs),
    address: host.address ?? '',
    port: host.port === undefined ? '' : String(host.port),
    user: host.user ?? '',
    transport: host.transport,
    lines: String(detail.counters.lines),
    bad_lines: String(detail.counters.malformed),
    warnings: detail.warnings.join(' | '),
  };
}
