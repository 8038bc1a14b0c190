/**
 * Host key verification against OpenSSH known_hosts files (sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT"), never
 * accepting a key silently. Hand-written: no maintained npm package parses hashed entries and markers.
 *
 * Matching follows OpenSSH's hostfile.c / match.c: the name looked up is `host` on port 22 and `[host]:port`
 * otherwise, compared case-insensitively; patterns are comma lists with `*` and `?` and `!negation` (a negated
 * match vetoes the line); `|1|salt|hmac` is HMAC-SHA1(salt, name). Deliberately stricter than OpenSSH in two
 * places: an `@revoked` key is refused whatever host pattern its line carries, and a host whose known keys
 * are all of another type is 'changed' (OpenSSH would prompt as for a new host).
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { type HostFailureCode, SweepError } from '../errors.js';

/** The host as the fetcher dials it. `aliases` (e.g. the resolved IP, or a HostKeyAlias) are checked too. */
export interface HostKeyTarget {
  readonly host: string;
  readonly port?: number;
  readonly aliases?: readonly string[];
}

export type KnownHostMarker = 'cert-authority' | 'revoked';

/** One usable line of a known_hosts file. */
export interface KnownHostEntry {
  readonly file: string;
  readonly line: number;
  readonly marker: KnownHostMarker | undefined;
  /** Plain patterns (lower-cased), or undefined for a hashed entry. */
  readonly patterns: readonly string[] | undefined;
  readonly hashed: { readonly salt: Buffer; readonly hash: Buffer } | undefined;
  readonly keyType: string;
  readonly key: Buffer;
  readonly comment: string;
}

/** A line that was skipped. Counted and reported, never thrown. */
export interface KnownHostsIssue {
  readonly file: string;
  /** 1-based; 0 when the whole file could not be read. */
  readonly line: number;
  readonly reason: string;
}

export interface ParsedKnownHosts {
  readonly entries: KnownHostEntry[];
  readonly issues: KnownHostsIssue[];
}

export type HostKeyStatus = 'trusted' | 'unknown' | 'changed' | 'revoked' | 'cert-authority-only';

export interface KnownKey {
  readonly keyType: string;
  readonly fingerprint: string;
  readonly file: string;
  readonly line: number;
  readonly marker: KnownHostMarker | undefined;
}

export interface HostKeyVerdict {
  readonly status: HostKeyStatus;
  /** Of the presented key, as `ssh-keygen -lf` prints it. */
  readonly fingerprint: string;
  readonly keyType: string;
  /** The line that decided: the matching key for 'trusted', the @revoked line for 'revoked'. */
  readonly matchedFile?: string;
  readonly matchedLine?: number;
  /** Keys the files hold for this host (plain and @cert-authority), for the message of a refusal. */
  readonly knownKeys?: readonly KnownKey[];
  /** Lines skipped while reading the files. */
  readonly issues: readonly KnownHostsIssue[];
}

/** `SHA256:` + unpadded base64 of the SHA-256 of the key blob: what `ssh-keygen -lf` prints. */
export function fingerprintSha256(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** The key type named inside an SSH wire-format public key blob (its first string), or undefined. */
export function keyTypeOf(blob: Buffer): string | undefined {
  if (blob.length < 4) return undefined;
  const len = blob.readUInt32BE(0);
  if (len === 0 || len > 64 || 4 + len > blob.length) return undefined;
  const type = blob.subarray(4, 4 + len).toString('latin1');
  return /^[\x21-\x7e]+$/.test(type) ? type : undefined;
}

/** `ssh-ed25519 AAAA…` for a key blob: the form of a known_hosts key field. */
export function formatPublicKey(blob: Buffer): string {
  const type = keyTypeOf(blob);
  if (!type) throw new SweepError('INTERNAL', 'not an SSH public key blob');
  return `${type} ${blob.toString('base64')}`;
}

/** The name OpenSSH looks up: `host` on the default port, `[host]:port` otherwise. */
export function knownHostName(host: string, port?: number): string {
  const h = host.toLowerCase();
  return port === undefined || port === 22 || port === 0 ? h : `[${h}]:${port}`;
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

function decodeBase64(text: string): Buffer | undefined {
  if (!BASE64.test(text) || text.length % 4 !== 0) return undefined;
  return Buffer.from(text, 'base64');
}

/** Parses known_hosts text. Blank lines and `#` comments are ignored; a malformed line becomes an issue. */
export function parseKnownHosts(text: string, file: string): ParsedKnownHosts {
  const entries: KnownHostEntry[] = [];
  const issues: KnownHostsIssue[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const trimmed = (lines[i] ?? '').replace(/\r$/, '').trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const result = parseLine(trimmed, file, lineNo);
    if (typeof result === 'string') issues.push({ file, line: lineNo, reason: result });
    else entries.push(result);
  }
  return { entries, issues };
}

function parseLine(text: string, file: string, line: number): KnownHostEntry | string {
  const fields = text.split(/[ \t]+/);
  let marker: KnownHostMarker | undefined;
  if (fields[0]?.startsWith('@')) {
    const m = fields.shift();
    if (m === '@cert-authority') marker = 'cert-authority';
    else if (m === '@revoked') marker = 'revoked';
    else return `unknown marker ${m}`;
  }
  const [hostField, keyType, keyText, ...commentParts] = fields;
  if (hostField === undefined || keyType === undefined) return 'missing key';
  // SSH-1 RSA lines are `hosts bits exponent modulus`: not supported by OpenSSH since 7.4 either.
  if (/^\d+$/.test(keyType)) return 'SSH-1 RSA key (unsupported)';
  if (keyText === undefined) return 'missing key data';
  const key = decodeBase64(keyText);
  if (!key) return 'key data is not base64';
  const blobType = keyTypeOf(key);
  if (blobType === undefined) return 'key data is not an SSH public key';
  if (blobType !== keyType) return `key type ${keyType} does not match key data (${blobType})`;

  let patterns: string[] | undefined;
  let hashed: { salt: Buffer; hash: Buffer } | undefined;
  if (hostField.startsWith('|')) {
    const parts = hostField.split('|');
    if (parts.length !== 4 || parts[1] !== '1') return 'unsupported hashed host format';
    const salt = decodeBase64(parts[2] ?? '');
    const hash = decodeBase64(parts[3] ?? '');
    if (!salt || !hash || hash.length !== 20) return 'bad hashed host';
    hashed = { salt, hash };
  } else {
    // An empty pattern (`a,,b`, a lone `!`) matches no name, as in OpenSSH's match_pattern_list.
    patterns = hostField.toLowerCase().split(',');
  }
  return { file, line, marker, patterns, hashed, keyType, key, comment: commentParts.join(' ') };
}

/** OpenSSH match_pattern: `*` any run, `?` any one character, nothing else special. */
function wildcardMatch(name: string, pattern: string): boolean {
  let n = 0;
  let p = 0;
  let starP = -1;
  let starN = 0;
  while (n < name.length) {
    const pc = pattern[p];
    if (pc === '*') {
      starP = p++;
      starN = n;
    } else if (pc !== undefined && (pc === '?' || pc === name[n])) {
      p++;
      n++;
    } else if (starP >= 0) {
      p = starP + 1;
      n = ++starN;
    } else {
      return false;
    }
  }
  while (pattern[p] === '*') p++;
  return p === pattern.length;
}

/** True when the entry's host field names `name` (already lower-cased, `[host]:port` form if non-22). */
export function entryMatchesName(entry: KnownHostEntry, name: string): boolean {
  if (entry.hashed) {
    const mac = createHmac('sha1', entry.hashed.salt).update(name).digest();
    return timingSafeEqual(mac, entry.hashed.hash);
  }
  let positive = false;
  for (const pattern of entry.patterns ?? []) {
    if (pattern.startsWith('!')) {
      if (wildcardMatch(name, pattern.slice(1))) return false;
    } else if (wildcardMatch(name, pattern)) {
      positive = true;
    }
  }
  return positive;
}

function targetNames(target: HostKeyTarget): string[] {
  const names = [target.host, ...(target.aliases ?? [])].map((h) => knownHostName(h, target.port));
  return [...new Set(names)];
}

/**
 * The pure core of {@link verifyHostKey}: judges a presented key blob against already parsed files.
 * Order of precedence: revoked, trusted, changed, cert-authority-only, unknown.
 */
export function judgeHostKey(
  target: HostKeyTarget,
  presentedKey: Buffer,
  knownHosts: readonly ParsedKnownHosts[],
): HostKeyVerdict {
  const fingerprint = fingerprintSha256(presentedKey);
  const keyType = keyTypeOf(presentedKey) ?? 'unknown';
  const issues = knownHosts.flatMap((k) => k.issues);
  const entries = knownHosts.flatMap((k) => k.entries);
  const base = { fingerprint, keyType, issues };

  const revoked = entries.find((e) => e.marker === 'revoked' && e.key.equals(presentedKey));
  if (revoked) return { ...base, status: 'revoked', matchedFile: revoked.file, matchedLine: revoked.line };

  const names = targetNames(target);
  const forHost = entries.filter((e) => e.marker !== 'revoked' && names.some((n) => entryMatchesName(e, n)));
  const knownKeys: KnownKey[] = forHost.map((e) => ({
    keyType: e.keyType,
    fingerprint: fingerprintSha256(e.key),
    file: e.file,
    line: e.line,
    marker: e.marker,
  }));
  const plain = forHost.filter((e) => e.marker === undefined);
  // A @cert-authority key is a CA, never the host's own key, even if the bytes happen to be equal.
  const match = plain.find((e) => e.key.equals(presentedKey));
  if (match)
    return { ...base, status: 'trusted', matchedFile: match.file, matchedLine: match.line, knownKeys };
  if (plain.length > 0) return { ...base, status: 'changed', knownKeys };
  if (forHost.length > 0) return { ...base, status: 'cert-authority-only', knownKeys };
  return { ...base, status: 'unknown' };
}

/** Reads and parses one file. A missing file holds no entries; an unreadable one is an issue at line 0. */
export async function readKnownHostsFile(file: string): Promise<ParsedKnownHosts> {
  try {
    return parseKnownHosts(await fs.readFile(file, 'utf8'), file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { entries: [], issues: [] };
    return { entries: [], issues: [{ file, line: 0, reason: `unreadable: ${code ?? String(err)}` }] };
  }
}

/**
 * Judges the key blob a server presented (as ssh2's `hostVerifier` receives it) against known_hosts files.
 * Only 'trusted' may connect; the verdict carries the fingerprint to show the user either way.
 */
export async function verifyHostKey(
  target: HostKeyTarget,
  presentedKey: Buffer,
  files: readonly string[],
): Promise<HostKeyVerdict> {
  const parsed = await Promise.all(files.map((f) => readKnownHostsFile(f)));
  return judgeHostKey(target, presentedKey, parsed);
}

/** The failure code a refused verdict maps to; undefined for 'trusted'. */
export function hostKeyFailureCode(status: HostKeyStatus): HostFailureCode | undefined {
  switch (status) {
    case 'trusted':
      return undefined;
    case 'unknown':
    case 'cert-authority-only':
      return 'HOST_KEY_UNKNOWN';
    case 'changed':
    case 'revoked':
      return 'HOST_KEY_CHANGED';
  }
}

/**
 * Appends `host` (or `[host]:port`) with the key of `publicKeyLine` (`type base64 [comment]`) to `file`,
 * hashed like `ssh-keygen -H` when asked. Creates the folder (0700) and the file (0600) if missing.
 */
export async function addKnownHost(
  file: string,
  target: { readonly host: string; readonly port?: number },
  publicKeyLine: string,
  options: { readonly hashed?: boolean } = {},
): Promise<void> {
  const [keyType, keyText, ...comment] = publicKeyLine.trim().split(/[ \t]+/);
  const key = decodeBase64(keyText ?? '');
  if (!keyType || !key || keyTypeOf(key) !== keyType) {
    throw new SweepError('USAGE', `not an OpenSSH public key line: ${publicKeyLine.slice(0, 60)}`);
  }
  const name = knownHostName(target.host, target.port);
  if (name === '' || /[\s,#|]/.test(name))
    throw new SweepError('USAGE', `invalid host name for known_hosts: ${name}`);
  let hostField = name;
  if (options.hashed) {
    const salt = randomBytes(20);
    hostField = `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(name).digest('base64')}`;
  }
  const line = [hostField, keyType, keyText, ...comment].join(' ');

  try {
    await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
    const handle = await fs.open(file, 'a+', 0o600);
    try {
      const { size } = await handle.stat();
      let prefix = '';
      if (size > 0) {
        const last = Buffer.alloc(1);
        await handle.read(last, 0, 1, size - 1);
        if (last[0] !== 0x0a) prefix = '\n';
      }
      // One write on an O_APPEND descriptor: concurrent appenders never interleave within the line.
      await handle.write(`${prefix}${line}\n`);
    } finally {
      await handle.close();
    }
  } catch (err) {
    throw new SweepError('OUTPUT_FAILED', `cannot add ${name} to ${file}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}
