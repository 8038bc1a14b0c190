/**
 * How ausearch 3.0.9 cuts one auditd event into the events it reports. Its event builder (ausearch-lol.c) closes an
 * event as soon as a record that is "always last" arrives (libaudit audit_is_last_record: types below 1300,
 * KERNEL, 2100 and up, MAC_UNLBL_ALLOW..MAC_CALIPSO_DEL, PROCTITLE, EOE). A kernel LOGIN record (1006) is such a
 * type, so LOGIN + SYSCALL + PROCTITLE with one id comes out as two events: [LOGIN] and [SYSCALL, PROCTITLE].
 * We keep one event (one row); the normalizer describes it the way ausearch describes its first part.
 */
import type { AuditEvent, AuditRecord } from '../../types.js';
import { isSingleRecordType } from '../tables/record-types.js';

function closesAusearchEvent(type: string): boolean {
  return type === 'EOE' || isSingleRecordType(type);
}

/** The records of `event` grouped as ausearch 3.0.9 groups them, in order. */
export function ausearchParts(event: AuditEvent): AuditRecord[][] {
  const parts: AuditRecord[][] = [];
  let open: AuditRecord[] = [];
  for (const record of event.records) {
    open.push(record);
    if (closesAusearchEvent(record.type)) {
      parts.push(open);
      open = [];
    }
  }
  if (open.length > 0) parts.push(open);
  return parts;
}

/** The records ausearch reports as the first event of `event` (all of them unless ausearch splits it). */
export function ausearchFirstPart(event: AuditEvent): readonly AuditRecord[] {
  const records = event.records;
  for (let i = 0; i < records.length - 1; i++) {
    if (closesAusearchEvent(records[i]!.type)) return records.slice(0, i + 1);
  }
  // Not split (nearly every event): the records themselves, not a copy.
  return records;
}
