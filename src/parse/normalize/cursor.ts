/**
 * auparse's record/field cursor, which the normalizer's rules are written against (auparse.c first_record,
 * next_record, goto_record_num, first_field, find_field). Its quirks decide which field becomes an object, so
 * they are kept:
 *  - find() looks at the current field, then forward through the record and on into the following records;
 *  - a find() that fails leaves the cursor past the end: every later find() fails until the cursor is reset;
 *  - next() does not reset the field position of the record it moves to; first() and goto() do.
 */
import type { AuditRecord } from '../../types.js';
import { fieldCount, indexOfField, valueAt } from '../record.js';
import { FieldRef } from './field-text.js';

/** A remembered field: record number (as auparse stores it: the caller's idea of the record) and field index. */
export interface Location {
  readonly record: number;
  readonly field: number;
  /** The field's name when the cursor found it by that name (saves reading it from the line again). */
  readonly name?: string | undefined;
}

export class Cursor {
  /** Current record index, or -1 when the cursor ran past the end. */
  private rec = 0;
  /** Field position of every record. */
  private readonly pos: number[];
  /** The field the last successful seek() stopped on, and the name it was looking for. */
  private foundRec = -1;
  private foundField = -1;
  private foundName = '';

  constructor(readonly records: readonly AuditRecord[]) {
    this.pos = new Array<number>(records.length).fill(0);
  }

  /** The name of the current field if seek() found it (and the cursor has not moved since), else undefined. */
  private knownName(): string | undefined {
    return this.rec >= 0 && this.rec === this.foundRec && this.pos[this.rec] === this.foundField
      ? this.foundName
      : undefined;
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
    return index < fieldCount(record) ? new FieldRef(record, index, this.knownName()) : undefined;
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
    if (record === undefined || n < 0 || n >= fieldCount(record)) return false;
    this.pos[this.rec] = n;
    return true;
  }

  /** auparse_next_field. */
  nextField(): boolean {
    const record = this.record;
    if (record === undefined) return false;
    const n = this.fieldNum + 1;
    if (n >= fieldCount(record)) return false;
    this.pos[this.rec] = n;
    return true;
  }

  /** auparse_find_field: the raw value of the next field called `name`, from the current field on. */
  find(name: string): string | undefined {
    return this.seek(name) ? valueAt(this.records[this.rec]!, this.pos[this.rec]!) : undefined;
  }

  /** find() when only the position matters: true when the cursor is on a field called `name`. */
  seek(name: string): boolean {
    while (this.rec >= 0) {
      const i = indexOfField(this.records[this.rec]!, name, this.pos[this.rec] ?? 0);
      if (i >= 0) {
        this.pos[this.rec] = i;
        this.foundRec = this.rec;
        this.foundField = i;
        this.foundName = name;
        return true;
      }
      this.rec = this.rec + 1 < this.records.length ? this.rec + 1 : -1;
      if (this.rec >= 0) this.pos[this.rec] = 0;
    }
    return false;
  }

  /** The current field as a location claimed for record `record` (auparse's set_record(0, rnum)). */
  here(record: number = this.recordNum): Location {
    // The name belongs to the current record's field: only if the location is claimed for that record.
    return { record, field: this.fieldNum, name: record === this.rec ? this.knownName() : undefined };
  }

  /** A stored location → the field it points at now, or undefined (seek_field failing). */
  resolve(loc: Location | undefined): FieldRef | undefined {
    if (loc === undefined) return undefined;
    const record = this.records[loc.record];
    if (record === undefined || loc.field >= fieldCount(record)) return undefined;
    return new FieldRef(record, loc.field, loc.name);
  }
}
