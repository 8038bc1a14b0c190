/**
 * auditsweep as a library (`import { runSweep, parseLogs } from 'auditsweep'`): the CLI is a thin layer over
 * these. The stages in pipeline order: inventory → fetch → parse → reports → mail; `runSweep` chains them as
 * `auditsweep sweep` does.
 */

export {
  type ResolveOptions,
  resolveConfigFile,
  resolveSweepSettings,
} from './config/index.js';
// The vocabulary every stage shares.
export {
  type ErrorCode,
  HOST_FAILURE_CODES,
  type HostFailureCode,
  isSweepError,
  SweepError,
} from './errors.js';
// Fetch: SSH sessions with known_hosts verification, SFTP and sudo transports, the bounded fan-out.
export { type CheckFleetOptions, checkFleet, checkHost, type HostCheck } from './fetch/check-host.js';
export { type FleetOptions, fetchFleet, type HostOutput } from './fetch/fetch-fleet.js';
export {
  addKnownHost,
  fingerprintSha256,
  type HostKeyStatus,
  type HostKeyVerdict,
  judgeHostKey,
  parseKnownHosts,
  readKnownHostsFile,
} from './fetch/known-hosts.js';
// Inventory: load (native YAML, Ansible INI/YAML), ssh client config, host selection.
export {
  type HostSelection,
  type Inventory,
  type InventoryHost,
  type InventoryIssue,
  type LoadInventoryOptions,
  loadInventory,
  parseInventoryText,
  parseSshConfig,
  readInventoryFile,
  readSshConfig,
  selectHosts,
} from './inventory/index.js';
export { type MailReport, type MailSettings, mailReport, type SendResult } from './mail/index.js';
// Parse: audit.log bytes → events and their rows.
export { type EventStreamOptions, parseAuditStream } from './parse/event-stream.js';
export { HostLogParser, type HostParserOptions } from './parse/host-parser.js';
export { type ParseLogsOptions, type ParseLogsResult, parseLogs } from './parse-logs.js';
// Reports and mail.
export { type AlertRule, loadAlertRules, parseAlertRules } from './report/alerts.js';
export { type RunReportsInput, type RunReportsResult, writeRunReports } from './report/finish-run.js';
// The whole job.
export {
  MAIL_RESULT_FILE,
  type MailOutcome,
  runSweep,
  type SweepConfig,
  type SweepMailSettings,
  type SweepReportFile,
  type SweepSummary,
} from './sweep.js';
export {
  type AccountMaps,
  type AuditEvent,
  type AuditRecord,
  EVENT_COLUMNS,
  type EventColumn,
  type EventRow,
  type HostOutcome,
  type ParseCounters,
  type ParsedEvent,
  type ParseIssue,
  type ParseIssueReason,
} from './types.js';
