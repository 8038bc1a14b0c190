/**
 * A small, real-looking report folder for the mail tests: summary.csv, hosts.csv, two findings CSVs and an
 * events.csv of `eventRows` rows (random hex ids keep it from compressing to nothing), plus the MailReport that
 * describes it. Host names include a hostile one (CRLF and a Bcc header) with a `<script>` message.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { MailReport, ReportFile } from '../../src/mail/types.js';
import { EVENT_COLUMNS, type HostOutcome } from '../../src/types.js';

export const HOSTILE_HOST = 'evil.example\r\nBcc: victim@example.org';
export const HOSTILE_MESSAGE = '<script>alert("pwned")</script> & more';

export const HOSTS: HostOutcome[] = [
  { host: 'web-01', status: 'ok', files: 3, bytes: 812_000, events: 5210, durationMs: 900, message: '' },
  {
    host: 'db-01',
    status: 'failed',
    code: 'TIMEOUT',
    message: 'connect timed out after 10 s',
    files: 0,
    bytes: 0,
    events: 0,
    durationMs: 10_000,
  },
  {
    host: 'app-03',
    status: 'partial',
    code: 'PERMISSION_DENIED',
    message: 'audit.log.4 not readable',
    files: 2,
    bytes: 400_000,
    events: 1900,
    durationMs: 1200,
  },
  { host: 'api-02', status: 'ok', files: 4, bytes: 1_200_000, events: 8800, durationMs: 1500, message: '' },
  {
    host: 'mail-02',
    status: 'failed',
    code: 'AUTH_FAILED',
    message: 'publickey rejected for astest',
    files: 0,
    bytes: 0,
    events: 0,
    durationMs: 300,
  },
  {
    host: HOSTILE_HOST,
    status: 'failed',
    code: 'PROTOCOL',
    message: HOSTILE_MESSAGE,
    files: 0,
    bytes: 0,
    events: 0,
    durationMs: 50,
  },
];

function csv(rows: (string | number)[][]): string {
  return `${rows.map((r) => r.map((v) => (/[",\r\n]/.test(String(v)) ? `"${String(v).replace(/"/g, '""')}"` : v)).join(',')).join('\r\n')}\r\n`;
}

function eventsCsv(rows: number): string {
  const lines: (string | number)[][] = [[...EVENT_COLUMNS]];
  const base = Date.UTC(2026, 10, 16, 0, 0, 0);
  for (let i = 0; i < rows; i++) {
    const host = i % 2 === 0 ? 'web-01' : 'api-02';
    const t = new Date(base + i * 37_000).toISOString();
    const row: Record<string, string | number> = {
      host,
      node: host,
      time: t,
      serial: 1000 + i,
      event_type: i % 5 === 0 ? 'USER_LOGIN' : 'SYSCALL',
      event_kind: i % 5 === 0 ? 'user-login' : 'audit-rule',
      session: 3 + (i % 7),
      subj_prime: i % 3 === 0 ? 'alice' : 'root',
      action: i % 5 === 0 ? 'logged-in' : 'executed',
      result: i % 11 === 0 ? 'fail' : 'success',
      obj_prime: `/usr/bin/tool-${randomBytes(4).toString('hex')}`,
      key: `k-${randomBytes(3).toString('hex')}`,
      record_types: 'SYSCALL,EXECVE,CWD,PATH,PROCTITLE',
      auid: 1000,
      uid: 0,
      euid: 0,
      pid: 2000 + i,
      ppid: 1999 + i,
      syscall: 'execve',
      exe: '/usr/bin/sudo',
      comm: 'sudo',
      command: `sudo systemctl restart app-${i % 13} --token=${randomBytes(6).toString('hex')}`,
      cwd: '/home/alice',
      terminal: 'pts/0',
      addr: `10.0.${i % 250}.${(i * 7) % 250}`,
      source_file: '/var/log/audit/audit.log',
      source_line: i + 1,
    };
    lines.push(EVENT_COLUMNS.map((c) => row[c] ?? ''));
  }
  return csv(lines);
}

export interface ReportFixture {
  readonly dir: string;
  readonly report: MailReport;
  cleanup(): Promise<void>;
}

export async function makeReportFixture(
  options: {
    eventRows?: number;
    extraFiles?: { name: string; kind: ReportFile['kind']; content: Buffer | string }[];
  } = {},
): Promise<ReportFixture> {
  const dir = await mkdtemp(path.join(tmpdir(), 'auditsweep-mail-'));
  const outDir = path.join(dir, 'reports', '2026-11-23T060000Z');
  await mkdir(outDir, { recursive: true });
  const contents: { name: string; kind: ReportFile['kind']; content: string | Buffer }[] = [
    {
      name: 'summary.csv',
      kind: 'summary',
      content: csv([
        ['metric', 'value'],
        ['hosts', 6],
        ['hosts_failed', 3],
        ['events', 15910],
        ['failed_logins', 17],
        ['failed_authentications', 5],
      ]),
    },
    {
      name: 'hosts.csv',
      kind: 'hosts',
      content: csv([
        ['host', 'status', 'code', 'message', 'files', 'bytes', 'events'],
        ...HOSTS.map((h) => [h.host, h.status, h.code ?? '', h.message, h.files, h.bytes, h.events]),
      ]),
    },
    {
      name: 'findings-failed-logins.csv',
      kind: 'finding',
      content: csv([
        ['host', 'time', 'account', 'addr', 'terminal', 'count'],
        ['web-01', '2026-11-18T03:12:44Z', 'root', '203.0.113.7', 'ssh', 12],
        ['api-02', '2026-11-19T22:01:09Z', 'admin', '198.51.100.23', 'ssh', 5],
      ]),
    },
    {
      name: 'findings-sudo.csv',
      kind: 'finding',
      content: csv([
        ['host', 'time', 'user', 'command'],
        ['web-01', '2026-11-17T09:30:00Z', 'alice', 'sudo systemctl restart nginx'],
      ]),
    },
    { name: 'events.csv', kind: 'events', content: eventsCsv(options.eventRows ?? 400) },
    ...(options.extraFiles ?? []),
  ];
  const files: ReportFile[] = [];
  for (const f of contents) {
    const p = path.join(outDir, f.name);
    await writeFile(p, f.content);
    files.push({ name: f.name, path: p, kind: f.kind, bytes: Buffer.byteLength(f.content) });
  }
  const report: MailReport = {
    runId: '2026-11-23T060000Z',
    outDir,
    generatedAt: new Date('2026-11-23T06:00:00Z'),
    window: { since: new Date('2026-11-16T00:00:00Z'), until: new Date('2026-11-23T00:00:00Z') },
    hosts: HOSTS,
    totals: { events: 15910, failedLogins: 17, failedAuthentications: 5, sudoCommands: 42 },
    alerts: [
      {
        rule: 'sudo-burst',
        severity: 'medium',
        message: 'alice ran 40 sudo commands on web-01 in 5 minutes',
      },
      { rule: 'brute-force', severity: 'high', message: '12 failed root logins on web-01 from 203.0.113.7' },
    ],
    warnings: ['host keys were NOT verified (--insecure-accept-unknown-host-keys)'],
    files,
  };
  return { dir, report, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
