/**
 * passwd(5) and group(5) text → id → name maps, for interpreting RAW logs with the audited host's own accounts.
 */
import { readFile } from 'node:fs/promises';
import { SweepError } from '../../errors.js';
import type { AccountMaps } from '../../types.js';

/** One parsed passwd or group file. */
export interface IdFile {
  /** id → name; the first line wins for a duplicate id, as getpwuid()/getgrgid() do. */
  readonly names: Map<number, string>;
  /** Lines not used: comments, blank lines and malformed lines. */
  readonly skipped: number;
  /** The malformed part of `skipped`: too few fields, empty name, id not a decimal uid_t, NIS `+`/`-` entries. */
  readonly malformed: number;
}

const UID_MAX = 4294967295; // uid_t/gid_t are 32-bit; 4294967295 itself is auditd's "unset"
const ID = /^\d{1,10}$/;

/** Parses `name:x:id:…` lines with at least `fields` colon-separated fields. */
function parseIdFile(text: string, fields: number): IdFile {
  const names = new Map<number, string>();
  let skipped = 0;
  let malformed = 0;
  const lines = text.split('\n');
  // A final newline does not start another line.
  if (lines.at(-1) === '') lines.pop();
  for (const raw of lines) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '' || line.startsWith('#')) {
      skipped++;
      continue;
    }
    const parts = line.split(':');
    const name = parts[0] ?? '';
    const id = parts[2] ?? '';
    const ok =
      parts.length >= fields &&
      name !== '' &&
      !name.startsWith('+') &&
      !name.startsWith('-') &&
      ID.test(id) &&
      Number(id) <= UID_MAX;
    if (!ok) {
      skipped++;
      malformed++;
      continue;
    }
    if (!names.has(Number(id))) names.set(Number(id), name);
  }
  return { names, skipped, malformed };
}

/** passwd text (`name:pw:uid:gid:gecos:home:shell`) → uid → name. */
export function parsePasswd(text: string): IdFile {
  return parseIdFile(text, 7);
}

/** group text (`name:pw:gid:members`) → gid → name. */
export function parseGroup(text: string): IdFile {
  return parseIdFile(text, 4);
}

/** passwd and group text → AccountMaps, plus how many lines of each were skipped and how many were malformed. */
export function parseAccounts(
  passwdText: string,
  groupText: string,
): { maps: AccountMaps; passwd: IdFile; group: IdFile } {
  const passwd = parsePasswd(passwdText);
  const group = parseGroup(groupText);
  return { maps: { users: passwd.names, groups: group.names }, passwd, group };
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (cause) {
    throw new SweepError('FILE_UNREADABLE', `cannot read account file ${path}`, { cause });
  }
}

/**
 * Reads the audited host's passwd and group files → AccountMaps. A file not given contributes no names: the
 * analyst machine's own accounts are never a default, they may name a different person. Rejects with
 * FILE_UNREADABLE.
 */
export async function loadAccountMaps(passwdPath?: string, groupPath?: string): Promise<AccountMaps> {
  const [passwdText, groupText] = await Promise.all([
    passwdPath === undefined ? '' : readText(passwdPath),
    groupPath === undefined ? '' : readText(groupPath),
  ]);
  return parseAccounts(passwdText, groupText).maps;
}
