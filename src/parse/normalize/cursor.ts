/**
 * auparse's record/field cursor, which the normalizer's rules are written against (auparse.c first_record,
 * next_record, goto_record_num, first_field, find_field). Its quirks decide which field becomes an object, so
 * they are kept:
 *  - find() looks at the current field, then forward through the record and on into the following records;
 *  - a find() that fails leaves the cursor past the end: every later find() fails until the cursor is reset;
 *  - next() does not reset the field position of the record it moves to; first() and goto() do.
 */
import type { AuditRecord } from '../../types.js';
import type { FieldRef } from './field-text.js';

/** A remembered field: record number (as auparse stores it: the caller's idea of the record) and field index. */
export interface Location {
  readonly record: number;
  readonly field: number;
}

export class Cursor {
  /** Current record index, or -1 when the cursor ran past the end. */
  private rec = 0;
  /** Field position of every record. */
  private readonly pos: number[];

  constructor(readonly records: readonly AuditRecord[]) {
    this.pos = records.map(() => 0);
  }

  /** Record count of the event. */
  get count(): number {
    return this.records.length;
  }

  /** Current record, or undefined past the end. */
  get record(): AuditRecord | undefined {
    return this.rec < 0 ? undefined : this.records[this.rec];
  }

  /** Current record type, or undefined past the end (auparse_get_type returns 0). */
  get type(): string | undefined {
    return this.record?.type;
  }

  /** auparse_get_record_num: current record number (0 past the end). */
  get recordNum(): number {
    return Math.max(this.rec, 0);
  }

  /** auparse_get_field_num: field position in the current record. */
  get fieldNum(): number {
    return this.rec < 0 ? 0 : (this.pos[this.rec] ?? 0);
  }

  /** The current field, if any. */
  get field(): FieldRef | undefined {
    const record = this.record;
    if (record === undefined) return undefined;
    const index = this.fieldNum;
    return index * 2 < record.fields.length ? { record, index } : undefined;
  }

  first(): void {
    this.rec = 0;
    this.pos[0] = 0;
  }

  /** auparse_next_record: true when there is a next record; past the end otherwise. */
  next(): boolean {
    if (this.rec < 0) return false;
    this.rec = this.rec + 1 < this.records.length ? this.rec + 1 : -1;
    return this.rec >= 0;
  }

  /** auparse_goto_record_num: an out-of-range number leaves the cursor where it was. */
  goto(n: number): boolean {
    if (n < 0 || n >= this.records.length) return false;
    this.rec = n;
    this.pos[n] = 0;
    return true;
  }

  /** auparse_first_field: no effect past the end. */
  firstField(): void {
    if (this.rec >= 0) this.pos[this.rec] = 0;
  }

  /** auparse_goto_field_num. */
  gotoField(n: number): boolean {
    const record = this.record;
    if (record === undefined || n < 0 || n * 2 >= record.fields.length) return false;
    this.pos[this.rec] = n;
    return true;
  }

  /** auparse_next_field. */
  nextField(): boolean {
    const record = this.record;
    if (record === undefined) return false;
    const n = this.fieldNum + 1;
    if (n * 2 >= record.fields.length) return false;
    this.pos[this.rec] = n;
    return true;
  }

  /** auparse_find_field: the raw value of the next field called `name`, from the current field on. */
  find(name: string): string | undefined {
    while (this.rec >= 0) {
      const fields = this.records[this.rec]!.fields;
      for (let i = this.pos[this.rec] ?? 0; i * 2 < fields.length; i++) {
        if (fields[i * 2] === name) {
          this.pos[this.rec] = i;
          return fields[i * 2 + 1];
        }
      }
      this.rec = this.rec + 1 < this.records.length ? this.rec + 1 : -1;
      if (this.rec >= 0) this.pos[this.rec] = 0;
    }
    return undefined;
  }

  /** The current field as a location claimed for record `record` (auparse's set_record(0, rnum)). */
  here(record: number = this.recordNum): Location {
    return { record, field: this.fieldNum };
  }

  /** A stored location → the field it points at now, or undefined (seek_field failing). */
  resolve(loc: Location | undefined): FieldRef | undefined {
    if (loc === undefined) return undefined;
    const record = this.records[loc.record];
    if (record === undefined || loc.field * 2 >= record.fields.length) return undefined;
    return { record, index: loc.field };
  }
}
