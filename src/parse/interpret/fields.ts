/**
 * Field values as a reviewer reads them: quotes removed, hex-encoded values decoded.
 *
 * auditd writes an untrusted string double-quoted when it is plain ASCII, and as unquoted hex when it holds a
 * space, a quote, a control byte or non-ASCII (audit_log_n_untrustedstring in the kernel, audit_encode_value in
 * user space). Which fields can be encoded this way: tables/escaped-fields.ts.
 */
import type { AuditRecord } from '../../types.js';
import { LineRecord } from '../record.js';
import { ENCODED_FIELDS } from '../tables/escaped-fields.js';
import { rawField } from '../tokenize.js';
import { decodeHex, isHex } from './hex.js';

/** The separator auditd puts between several keys of one rule (AUDIT_KEY_SEPARATOR). */
export const KEY_SEPARATOR = '\u0001';

/** True for EXECVE argument names: a0, a12, a1[3]. */
function isExecveArg(name: string): boolean {
  return (
    name.charCodeAt(0) === 0x61 && name.length > 1 && name.charCodeAt(1) >= 0x30 && name.charCodeAt(1) <= 0x39
  );
}

/**
 * Decodes one raw value. Double quotes are removed; an unquoted value of an escaped field is hex-decoded when it is
 * valid hex; `(null)`, `?`, `(none)` and every other unquoted value are returned as written.
 */
export function decodeValue(recordType: string, name: string, raw: string): string {
  if (raw.length >= 2 && raw.charCodeAt(0) === 0x22 && raw.charCodeAt(raw.length - 1) === 0x22) {
    return raw.slice(1, -1);
  }
  if (
    raw.length >= 2 &&
    (ENCODED_FIELDS.has(name) || (recordType === 'EXECVE' && isExecveArg(name))) &&
    isHex(raw)
  ) {
    return decodeHex(raw) ?? raw;
  }
  return raw;
}

/** A body field, decoded; undefined when the record does not have it. */
export function fieldValue(record: AuditRecord, name: string): string | undefined {
  if (record instanceof LineRecord) {
    // Most values read here are quoted: cut from the line without their quotes at once.
    const i = record.indexOf(name, 0);
    if (i < 0) return undefined;
    return record.unquotedValueAt(i) ?? decodeValue(record.type, name, record.valueAt(i));
  }
  const raw = rawField(record, name);
  return raw === undefined ? undefined : decodeValue(record.type, name, raw);
}

/** The first record of an event that has `name`, and its decoded value. */
export function eventField(records: readonly AuditRecord[], name: string): string | undefined {
  for (const r of records) {
    const v = fieldValue(r, name);
    if (v !== undefined) return v;
  }
  return undefined;
}

/** A rule key field → its keys (several keys of one rule are joined by 0x01); `(null)` → none. */
export function splitKeys(value: string | undefined): string[] {
  if (value === undefined || value === '(null)' || value === '') return [];
  if (!value.includes(KEY_SEPARATOR)) return [value];
  return value.split(KEY_SEPARATOR).filter((k) => k !== '');
}
