/**
 * Stage 3 of the parser: an event → the normalized columns of `ausearch --format csv --extra-keys --extra-obj2`
 * (audit 3.0.9 auparse normalizer): who (SUBJ_*) did what (ACTION) to what (OBJ_*), how, with what result, under
 * which rule key. The tables are data (record-map, syscall-map, obj-kind, event-kind, simple-object); the rules
 * walk the event with auparse's own cursor semantics (cursor.ts), because those decide which field is picked.
 */
import type { AuditEvent, AuditRecord, EventRow } from '../../types.js';
import type { InterpretContext } from '../interpret/ids.js';
import { LineRecord } from '../record.js';
import { recordTypeName, recordTypeNumber } from '../tables/record-types.js';
import { rawField } from '../tokenize.js';
import { ausearchFirstPart } from './ausearch-split.js';
import { normalizeCompound } from './compound.js';
import { Cursor, type Location } from './cursor.js';
import { fieldName, interpretPath, typeOf } from './field-text.js';
import { NormState } from './norm-state.js';
import { normalizeSimple } from './simple.js';

export { ausearchParts } from './ausearch-split.js';

export type NormalizedColumns = Pick<
  EventRow,
  | 'event_type'
  | 'event_kind'
  | 'session'
  | 'subj_prime'
  | 'subj_sec'
  | 'subj_kind'
  | 'action'
  | 'result'
  | 'obj_prime'
  | 'obj_sec'
  | 'obj_kind'
  | 'how'
  | 'key'
  | 'obj2'
>;

/** CONFIG_CHANGE actions whose object is the name of the setting rather than its value. */
const SETTING_ACTIONS = new Set(['set', 'seccomp-logging']);

function render(eventType: string, st: NormState, cwd: string | undefined): NormalizedColumns {
  const c = st.c;
  const subject = text(st, st.subjPrime);
  const resultRef = c.resolve(st.results);
  const result = st.textOf(resultRef) ?? '';
  const action = st.action;
  const object = c.resolve(st.objPrime);
  let objPrime = object === undefined ? '' : interpretPath(object, st.ctx, cwd);
  if (
    object !== undefined &&
    typeOf(object) !== 'escaped-file' &&
    object.record.type === 'CONFIG_CHANGE' &&
    action !== undefined &&
    SETTING_ACTIONS.has(action)
  ) {
    objPrime = fieldName(object);
  }
  const key = c.resolve(st.key);
  return {
    event_type: eventType,
    event_kind: st.evkind ?? 'unknown',
    session: text(st, st.session),
    subj_prime: subject === 'unset' ? 'system' : subject,
    subj_sec: text(st, st.subjSec),
    subj_kind: st.subjKind ?? '',
    action: action ?? 'did-unknown',
    result: resultRef === undefined ? '' : succeeded(result, typeOf(resultRef) === 'seccomp'),
    obj_prime: objPrime,
    obj_sec: text(st, st.objSec),
    obj2: path(st, st.obj2, cwd),
    obj_kind: st.what,
    how: st.how ?? '',
    // Every key of the rule (ausearch prints only the first of `key1\x01key2`).
    key: st.textOf(key) ?? '',
  };
}

/** The interpreted text of a remembered field ('' when it is gone). */
function text(st: NormState, loc: Location | undefined): string {
  return st.textOf(st.c.resolve(loc)) ?? '';
}

/** The interpreted text of a remembered field, a file name made absolute with the event's CWD. */
function path(st: NormState, loc: Location | undefined, cwd: string | undefined): string {
  const ref = st.c.resolve(loc);
  return ref === undefined ? '' : interpretPath(ref, st.ctx, cwd);
}

/** ausearch's RESULT: `yes`, `success` (any `suc…`), a seccomp `allow` → success; anything else → failed. */
function succeeded(text: string, seccomp: boolean): 'success' | 'failed' {
  return text === 'yes' || text.startsWith('suc') || (seccomp && text === 'allow') ? 'success' : 'failed';
}

const EMPTY: Omit<NormalizedColumns, 'event_type'> = {
  event_kind: '',
  session: '',
  subj_prime: '',
  subj_sec: '',
  subj_kind: '',
  action: '',
  result: '',
  obj_prime: '',
  obj_sec: '',
  obj2: '',
  obj_kind: '',
  how: '',
  key: '',
};

/**
 * auditd writes `type=UNKNOWN[1334]` for a type it has no name for; ausearch reads the number and names it if it
 * can (BPF), and so do we, so that the record is recognised by the tables.
 */
function withKnownType(record: AuditRecord): AuditRecord {
  if (!record.type.startsWith('UNKNOWN[')) return record;
  const n = recordTypeNumber(record.type);
  const name = n === undefined ? undefined : recordTypeName(n);
  if (name === undefined) return record;
  return record instanceof LineRecord ? record.withType(name) : { ...record, type: name };
}

/**
 * Normalizes one event as ausearch 3.0.9 does. For an event ausearch reports as two (a kernel LOGIN and its
 * SYSCALL), the row describes the first part, as ausearch's first row does. Every column is text, '' when ausearch
 * prints nothing; an event auparse cannot normalize (a lone NETFILTER_CFG, records without SYSCALL) keeps only its
 * event type, as ausearch prints an empty frame.
 */
export function normalizeEvent(event: AuditEvent, ctx: InterpretContext): NormalizedColumns {
  const records = withKnownTypes(ausearchFirstPart(event));
  const first = records[0];
  if (first === undefined) return { event_type: '', ...EMPTY };
  const cursor = new Cursor(records);
  const st = new NormState(cursor, ctx);
  cursor.first();
  const ok = records.length > 1 || first.type === 'SYSCALL' ? normalizeCompound(st) : normalizeSimple(st);
  if (!ok) return { event_type: first.type, ...EMPTY };
  const cwdRecord = records.find((r) => r.type === 'CWD');
  const cwd = cwdRecord === undefined ? undefined : rawField(cwdRecord, 'cwd');
  return render(first.type, st, cwd);
}

/** The records with auditd's `UNKNOWN[N]` types named (a copy only when there is one). */
function withKnownTypes(records: readonly AuditRecord[]): readonly AuditRecord[] {
  for (const r of records) if (r.type.startsWith('UNKNOWN[')) return records.map(withKnownType);
  return records;
}
