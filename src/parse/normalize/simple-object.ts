/**
 * The object of a one-record event, by record type (auparse normalize.c find_simple_object,
 * find_simple_obj_secondary, find_simple_obj_primary2 and, for CONFIG_CHANGE, find_config_change_object).
 */
import type { Location } from './cursor.js';
import type { NormState } from './norm-state.js';
import type { ObjKind } from './obj-kind.js';
import { tableEntry } from './table-entry.js';

interface SimpleObject {
  /** Fields tried in turn; each later one is searched again from the first record. */
  readonly fields: readonly string[];
  readonly kind?: ObjKind;
  /** Search from the first record rather than from the current field. */
  readonly fromFirstRecord?: boolean;
}

const ACCOUNT: SimpleObject = { fields: ['id', 'acct'], kind: 'account' };
const TERMINAL: SimpleObject = { fields: ['terminal'], kind: 'user-session' };
const ACCT: SimpleObject = { fields: ['acct'], kind: 'user-session' };
const COMMAND: SimpleObject = { fields: ['cmd'], kind: 'process' };
const POLICY: SimpleObject = { fields: [], kind: 'mac-config' };
const VM = (field: string): SimpleObject => ({ fields: [field], kind: 'virtual-machine' });

const SIMPLE_OBJECTS: Readonly<Record<string, SimpleObject>> = {
  // The SELinux target context of a user-space AVC (dbus, systemd); the kind stays unknown, as in ausearch 3.0.9.
  USER_AVC: { fields: ['tcontext'], fromFirstRecord: true },
  SERVICE_START: { fields: ['unit'], kind: 'service' },
  SERVICE_STOP: { fields: ['unit'], kind: 'service' },
  SYSTEM_RUNLEVEL: { fields: ['new-level'], kind: 'system' },
  USER_ROLE_CHANGE: { fields: ['selected-context'], kind: 'user-session' },
  ROLE_ASSIGN: ACCOUNT,
  ROLE_REMOVE: ACCOUNT,
  USER_MGMT: ACCOUNT,
  ACCT_LOCK: ACCOUNT,
  ACCT_UNLOCK: ACCOUNT,
  ADD_USER: ACCOUNT,
  DEL_USER: ACCOUNT,
  ADD_GROUP: ACCOUNT,
  DEL_GROUP: ACCOUNT,
  GRP_MGMT: ACCOUNT,
  USER_START: TERMINAL,
  USER_END: TERMINAL,
  USER_ERR: TERMINAL,
  USER_LOGIN: TERMINAL,
  USER_LOGOUT: TERMINAL,
  USER_AUTH: ACCT,
  USER_ACCT: ACCT,
  CRED_ACQ: ACCT,
  CRED_REFR: ACCT,
  CRED_DISP: ACCT,
  USER_CHAUTHTOK: ACCT,
  GRP_CHAUTHTOK: ACCT,
  ANOM_LOGIN_FAILURES: ACCT,
  ANOM_LOGIN_TIME: ACCT,
  ANOM_LOGIN_SESSIONS: ACCT,
  ANOM_LOGIN_LOCATION: ACCT,
  ANOM_EXEC: COMMAND,
  USER_CMD: COMMAND,
  USER_TTY: { fields: ['data'], kind: 'keystrokes', fromFirstRecord: true },
  TTY: { fields: ['data'], kind: 'keystrokes', fromFirstRecord: true },
  // auparse's choice of kind.
  USER_DEVICE: { fields: ['device'], kind: 'keystrokes', fromFirstRecord: true },
  SOFTWARE_UPDATE: { fields: ['sw'], kind: 'software', fromFirstRecord: true },
  VIRT_MACHINE_ID: VM('vm'),
  VIRT_RESOURCE: VM('resrc'),
  VIRT_CONTROL: VM('op'),
  LABEL_LEVEL_CHANGE: { fields: ['printer'], kind: 'printer' },
  MAC_CONFIG_CHANGE: { fields: ['bool'], kind: 'mac-config' },
  MAC_STATUS: { fields: ['enforcing'], kind: 'mac-config' },
  MAC_POLICY_LOAD: POLICY,
  LABEL_OVERRIDE: POLICY,
  DEV_ALLOC: POLICY,
  DEV_DEALLOC: POLICY,
  FS_RELABEL: POLICY,
  USER_MAC_POLICY_LOAD: POLICY,
  ROLE_MODIFY: POLICY,
  USER_MAC_CONFIG_CHANGE: POLICY,
  USER: { fields: ['addr'] },
  CRYPTO_KEY_USER: { fields: ['fp'], kind: 'user-session' },
  CRYPTO_SESSION: { fields: ['addr'], kind: 'user-session' },
  ANOM_RBAC_INTEGRITY_FAIL: { fields: ['hostname'], kind: 'file-system' },
};

/**
 * What a CONFIG_CHANGE changed: the rule key, else the setting named by the first of these fields. (Later auparse
 * versions also fall back to `actions` and `list`; 3.0.9 does not: `op=add_rule key=(null)` has no object.)
 */
const CONFIG_SETTINGS: readonly string[] = [
  'audit_enabled',
  'audit_pid',
  'audit_backlog_limit',
  'audit_failure',
];

function configChangeObject(st: NormState): boolean {
  const c = st.c;
  c.first();
  const key = c.find('key');
  if (key !== undefined && key !== '(null)') return true;
  for (const name of CONFIG_SETTINGS) {
    c.first();
    if (c.seek(name)) return true;
  }
  return false;
}

/** The field location every simple object is stored with: record 0 (auparse assumes one record). */
function atRecordZero(st: NormState): Location {
  return st.c.here(0);
}

/** find_simple_object: sets the object kind and returns where the object is, if anywhere. */
export function findSimpleObject(st: NormState, type: string): Location | undefined {
  const c = st.c;
  c.firstField();
  if (type === 'CONFIG_CHANGE') {
    st.what = 'audit-config';
    return configChangeObject(st) ? atRecordZero(st) : undefined;
  }
  if (type === 'USYS_CONFIG') {
    // The operation is the action; there is no object.
    if (c.seek('op')) st.action = st.text();
    st.what = 'system';
    return undefined;
  }
  const rule = tableEntry(SIMPLE_OBJECTS, type);
  if (rule === undefined) return undefined;
  if (rule.kind !== undefined) st.what = rule.kind;
  let found = false;
  for (const [i, name] of rule.fields.entries()) {
    if (i > 0 || rule.fromFirstRecord === true) c.first();
    if (c.seek(name)) {
      found = true;
      break;
    }
  }
  return found ? atRecordZero(st) : undefined;
}

const SECONDARY: Readonly<Record<string, string>> = { CRYPTO_SESSION: 'rport', SOFTWARE_UPDATE: 'sw_type' };
const PRIMARY2: Readonly<Record<string, string>> = {
  VIRT_CONTROL: 'vm',
  VIRT_RESOURCE: 'vm',
  SOFTWARE_UPDATE: 'root_dir',
};

function findFrom(
  st: NormState,
  table: Readonly<Record<string, string>>,
  type: string,
): Location | undefined {
  st.c.firstField();
  const name = tableEntry(table, type);
  return name !== undefined && st.c.seek(name) ? atRecordZero(st) : undefined;
}

/** find_simple_obj_secondary. */
export function findSimpleObjSecondary(st: NormState, type: string): Location | undefined {
  return findFrom(st, SECONDARY, type);
}

/** find_simple_obj_primary2. */
export function findSimpleObjPrimary2(st: NormState, type: string): Location | undefined {
  return findFrom(st, PRIMARY2, type);
}
