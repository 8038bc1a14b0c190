/**
 * Record type number → EVENT_KIND (auparse normalize.c normalize_determine_evkind and normalize_evtypetab.h,
 * audit 3.0.9). The kind comes from the event's first record, even when the SYSCALL record carries the rest.
 */
import { memoByTypeName, recordTypeNumber } from '../tables/record-types.js';

export type EventKind =
  | 'unknown'
  | 'user-space'
  | 'system-services'
  | 'configuration'
  | 'TTY'
  | 'user-account'
  | 'user-login'
  | 'audit-daemon'
  | 'mac-decision'
  | 'anomaly'
  | 'integrity'
  | 'anomaly-response'
  | 'mac'
  | 'crypto'
  | 'virt'
  | 'audit-rule'
  | 'dac-decision'
  | 'group-change'
  | 'av-decision'
  | 'bpf-program';

/**
 * Inclusive [from, to] ranges of record type numbers and their kind; first match wins. GRP_AUTH and CHGRP_ID are
 * group changes, FANOTIFY an AV decision, BPF a BPF program: what ausearch 3.0.9 prints for them (checked against
 * the installed ausearch, test/parse/ausearch-live.test.ts). URINGOP is in no range: ausearch prints `unknown`.
 */
const KIND_RANGES: ReadonlyArray<readonly [number, number, EventKind]> = [
  [1006, 1006, 'user-login'], // LOGIN
  [1100, 1101, 'user-login'], // USER_AUTH..USER_ACCT
  [1103, 1106, 'user-login'], // CRED_ACQ..USER_END
  [1108, 1110, 'user-login'], // USER_CHAUTHTOK..CRED_REFR
  [1112, 1113, 'user-login'], // USER_LOGIN..USER_LOGOUT
  [1102, 1102, 'user-account'], // USER_MGMT
  [1114, 1117, 'user-account'], // ADD_USER..DEL_GROUP
  [1132, 1133, 'user-account'], // GRP_MGMT..GRP_CHAUTHTOK
  [1135, 1136, 'user-account'], // ACCT_LOCK..ACCT_UNLOCK
  [2000, 2000, 'system-services'], // KERNEL
  [1127, 1131, 'system-services'], // SYSTEM_BOOT..SERVICE_STOP
  [1111, 1111, 'configuration'], // USYS_CONFIG
  [1305, 1305, 'configuration'], // CONFIG_CHANGE
  [1325, 1325, 'configuration'], // NETFILTER_CFG
  [1328, 1328, 'configuration'], // FEATURE_CHANGE
  [1332, 1333, 'configuration'], // TIME_INJOFFSET, TIME_ADJNTPVAL
  [1137, 1138, 'configuration'], // USER_DEVICE, SOFTWARE_UPDATE
  [1326, 1326, 'dac-decision'], // SECCOMP
  [1119, 1119, 'group-change'], // CHGRP_ID
  [1126, 1126, 'group-change'], // GRP_AUTH
  [1331, 1331, 'av-decision'], // FANOTIFY
  [1334, 1334, 'bpf-program'], // BPF
  [1120, 1121, 'user-space'], // TEST..TRUSTED_APP
  [1123, 1123, 'user-space'], // USER_CMD
  [1125, 1125, 'user-space'], // CHUSER_ID
  [1124, 1124, 'TTY'], // USER_TTY
  [1319, 1319, 'TTY'], // TTY
  [1335, 1335, 'audit-daemon'], // EVENT_LISTENER
  [1200, 1299, 'audit-daemon'], // FIRST_DAEMON..LAST_DAEMON
  [1107, 1107, 'mac-decision'], // USER_AVC
  [1122, 1122, 'mac-decision'], // USER_SELINUX_ERR
  [1502, 1503, 'mac-decision'], // APPARMOR_ALLOWED..APPARMOR_DENIED
  [1506, 1506, 'mac-decision'], // APPARMOR_ERROR
  [1400, 1402, 'mac-decision'], // AVC..AVC_PATH
  [1800, 1899, 'integrity'], // INTEGRITY_FIRST_MSG..INTEGRITY_LAST_MSG
  [2109, 2109, 'integrity'], // ANOM_RBAC_INTEGRITY_FAIL (AIDE sends it)
  [1700, 1799, 'anomaly'], // FIRST_KERN_ANOM_MSG..LAST_KERN_ANOM_MSG
  [2100, 2108, 'anomaly'], // FIRST_ANOM_MSG..ANOM_RBAC_FAIL
  [2110, 2199, 'anomaly'], // ANOM_CRYPTO_FAIL..LAST_ANOM_MSG
  [2200, 2299, 'anomaly-response'], // FIRST_ANOM_RESP..LAST_ANOM_RESP
  [1403, 1499, 'mac'], // MAC_POLICY_LOAD..LAST_SELINUX
  [1500, 1501, 'mac'], // AA..APPARMOR_AUDIT
  [1504, 1505, 'mac'], // APPARMOR_HINT..APPARMOR_STATUS
  [2300, 2399, 'mac'], // FIRST_USER_LSPP_MSG..LAST_USER_LSPP_MSG
  [1600, 1699, 'crypto'], // FIRST_KERN_CRYPTO_MSG..LAST_KERN_CRYPTO_MSG
  [2400, 2499, 'crypto'], // FIRST_CRYPTO_MSG..LAST_CRYPTO_MSG
  [2500, 2599, 'virt'], // FIRST_VIRT_MSG..LAST_VIRT_MSG
  [1300, 1304, 'audit-rule'], // SYSCALL..SOCKETCALL
  [1306, 1315, 'audit-rule'], // SOCKADDR..MQ_GETSETATTR
  [1317, 1318, 'audit-rule'], // FD_PAIR..OBJ_PID
  [1321, 1324, 'audit-rule'], // BPRM_FCAPS..NETFILTER_PKT
];

/** The EVENT_KIND of an event whose first record has this type. */
export const eventKind: (type: string) => EventKind = memoByTypeName((type) => {
  const n = recordTypeNumber(type);
  if (n === undefined) return 'unknown';
  for (const [from, to, kind] of KIND_RANGES) if (n >= from && n <= to) return kind;
  return 'unknown';
});
