/**
 * What the normalizer has found so far for one event (auparse's normalize_data), and the small steps every rule is
 * made of: "find this field from here and remember where it is".
 */
import type { AccountMaps } from '../../types.js';
import type { InterpretContext } from '../interpret/ids.js';
import type { Cursor, Location } from './cursor.js';
import { type FieldRef, fieldName, fieldRaw, interpretField, typeOf } from './field-text.js';
import type { ObjKind } from './obj-kind.js';

/** auparse's account classes (normalize-internal.h NORM_ACCT_*), by uid. */
function accountKind(uid: number): string {
  const u = uid >>> 0;
  if (u === 0) return 'privileged-acct';
  if (u === 0xffffffff) return 'unset-acct';
  if (u < 1000) return 'service-acct';
  if (u < 60000) return 'user-acct';
  return 'unknown-acct';
}

/** name → uid of each account map, built on first use (a host's passwd can be large). */
const uidsByName = new WeakMap<AccountMaps, ReadonlyMap<string, number>>();

/** A user name → uid with the host's account maps (getpwnam on the host ausearch ran on). */
function uidOfName(name: string, ctx: InterpretContext): number | undefined {
  const accounts = ctx.accounts;
  if (accounts === undefined) return name === 'root' ? 0 : undefined;
  let byName = uidsByName.get(accounts);
  if (byName === undefined) {
    const map = new Map<string, number>();
    // The first entry wins, as getpwnam() returns the first matching passwd line.
    for (const [uid, user] of accounts.users) if (!map.has(user)) map.set(user, uid);
    byName = map;
    uidsByName.set(accounts, byName);
  }
  return byName.get(name);
}

export class NormState {
  evkind: string | undefined;
  session: Location | undefined;
  subjPrime: Location | undefined;
  subjSec: Location | undefined;
  subjKind: string | undefined;
  action: string | undefined;
  objPrime: Location | undefined;
  objSec: Location | undefined;
  obj2: Location | undefined;
  what: ObjKind = 'unknown';
  results: Location | undefined;
  how: string | undefined;
  key: Location | undefined;
  /** SYSCALL `success=`: 1 yes, 0 no, -1 not seen. */
  syscallSuccess = -1;

  constructor(
    readonly c: Cursor,
    readonly ctx: InterpretContext,
  ) {}

  /** The interpreted text of the current field. */
  text(): string | undefined {
    return this.textOf(this.c.field);
  }

  /** The interpreted text of a field. */
  textOf(ref: FieldRef | undefined): string | undefined {
    return ref === undefined ? undefined : interpretField(ref, this.ctx);
  }

  /** Finds `name` from the cursor on and returns where it is, claimed for record `rnum`. */
  locate(name: string, rnum: number): Location | undefined {
    return this.c.seek(name) ? this.c.here(rnum) : undefined;
  }

  /** set_prime_subject. */
  primeSubject(name: string, rnum: number): boolean {
    const loc = this.locate(name, rnum);
    if (loc !== undefined) this.subjPrime = loc;
    return loc !== undefined;
  }

  /** set_secondary_subject: also classifies the account. */
  secondarySubject(name: string, rnum: number): boolean {
    const loc = this.locate(name, rnum);
    if (loc === undefined) return false;
    this.subjSec = loc;
    this.classifySubject();
    return true;
  }

  /**
   * set_subject_what on the current field: a uid field by its value, an `acct` by looking the name up. A name the
   * host does not know is `unknown-acct`.
   */
  classifySubject(): void {
    const ref = this.c.field;
    if (ref === undefined) return;
    let uid = 0xfffffffe;
    if (typeOf(ref) === 'uid') {
      uid = Number.parseInt(fieldRaw(ref), 10);
    } else if (fieldName(ref) === 'acct') {
      uid = uidOfName(this.textOf(ref) ?? '', this.ctx) ?? uid;
    }
    this.subjKind = accountKind(Number.isNaN(uid) ? 0 : uid);
  }

  /** add_session: on failure the cursor goes back to the first record. */
  addSession(rnum: number): boolean {
    const loc = this.locate('ses', rnum);
    if (loc === undefined) {
      this.c.first();
      return false;
    }
    this.session = loc;
    return true;
  }

  /** set_results: the `res` field (or, for a kernel AVC, `seresult`, its decision). */
  setResults(rnum: number, name = 'res'): void {
    this.results = this.locate(name, rnum) ?? this.results;
  }

  /** set_prime_object. */
  primeObject(name: string, rnum: number): boolean {
    const loc = this.locate(name, rnum);
    if (loc !== undefined) this.objPrime = loc;
    return loc !== undefined;
  }

  /** set_prime_object2: the name field found from record 2 + adjust on. */
  primeObject2(name: string, adjust: number): void {
    const rnum = 2 + adjust;
    this.c.goto(rnum);
    this.c.firstField();
    const loc = this.locate(name, rnum);
    if (loc !== undefined) this.obj2 = loc;
  }

  /**
   * add_subj_attr / add_obj_attr as far as the cursor is concerned: the attributes themselves only feed the label
   * columns, which we do not produce, but a miss sends the cursor back to record `rnum`.
   */
  skipAttr(name: string, rnum: number): void {
    if (!this.c.seek(name)) this.c.goto(rnum);
  }
}
