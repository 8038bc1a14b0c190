import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { type ParsedMail, simpleParser } from 'mailparser';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isSweepError, type SweepError } from '../../src/errors.js';
import { mailReport } from '../../src/mail/index.js';
import { dryRunPathFor, sendReport, smtpReply } from '../../src/mail/send.js';
import type { MailSettings } from '../../src/mail/types.js';
import { makeSelfSignedCert, type TestCert } from '../helpers/smtp-cert.js';
import { type SmtpSink, type SmtpSinkOptions, startSmtpSink } from '../helpers/smtp-sink.js';
import { startSilentServer, unusedPort } from '../helpers/tcp-silent.js';
import { makeReportFixture, type ReportFixture } from './fixture.js';

const PASSWORD = 'S3cr3t-p@ss:w/rd%42';
const USER = 'auditor';
const CREDS = { AUDITSWEEP_SMTP_USER: USER, AUDITSWEEP_SMTP_PASSWORD: PASSWORD };
const FAST = { attempts: 3, baseDelayMs: 10 };

let cert: TestCert;
let fx: ReportFixture;
const sinks: SmtpSink[] = [];

beforeAll(async () => {
  cert = makeSelfSignedCert();
  fx = await makeReportFixture({ eventRows: 400 });
});
afterEach(async () => {
  await Promise.all(sinks.splice(0).map((s) => s.stop()));
});
afterAll(async () => {
  await fx.cleanup();
});

async function sink(options: SmtpSinkOptions = {}): Promise<SmtpSink> {
  const s = await startSmtpSink(options);
  sinks.push(s);
  return s;
}

function settingsFor(s: { port: number }, extra: Partial<MailSettings> = {}): MailSettings {
  return {
    url: `smtp://127.0.0.1:${s.port}`,
    from: 'auditsweep <audit@example.com>',
    to: ['sec@example.com'],
    cc: ['ops@example.com'],
    retries: FAST,
    ...extra,
  };
}

async function caught(p: Promise<unknown>): Promise<SweepError> {
  try {
    await p;
  } catch (err) {
    if (isSweepError(err)) return err;
    throw err;
  }
  throw new Error('expected a SweepError');
}

function disk(name: string): Promise<Buffer> {
  return readFile(path.join(fx.report.outDir, name));
}

/** The checks every delivered report must pass. */
async function expectReportMail(parsed: ParsedMail): Promise<void> {
  expect(parsed.subject).toBe(
    '[auditsweep] 2 ALERTS (1 high) — 6 hosts, 3 failed (db-01, evil.example Bcc: victim@example.org, mail-02), 17 failed logins — week 2026-W47',
  );
  const text = parsed.text ?? '';
  for (const host of ['db-01', 'mail-02', 'evil.example Bcc: victim@example.org']) {
    expect(text.indexOf(host)).toBeGreaterThan(-1);
    expect(text.indexOf(host)).toBeLessThan(text.indexOf('SUMMARY'));
  }
  expect(text.indexOf('ALERTS (2)')).toBeLessThan(text.indexOf('FAILED HOSTS'));
  expect(text).toContain('host keys were NOT verified');
  const html = typeof parsed.html === 'string' ? parsed.html : '';
  expect(html).toContain('<strong>db-01</strong>');
  expect(html.indexOf('Failed hosts')).toBeLessThan(html.indexOf('<h3>Summary</h3>'));
  expect(html).not.toContain('<script>');

  const byName = new Map(parsed.attachments.map((a) => [a.filename, a.content]));
  expect([...byName.keys()]).toEqual([
    'summary.csv',
    'hosts.csv',
    'findings-failed-logins.csv',
    'findings-sudo.csv',
    'events.csv.gz',
  ]);
  for (const name of ['summary.csv', 'hosts.csv', 'findings-failed-logins.csv', 'findings-sudo.csv']) {
    expect(byName.get(name)?.equals(await disk(name)), name).toBe(true);
  }
  expect(gunzipSync(byName.get('events.csv.gz')!).equals(await disk('events.csv'))).toBe(true);
}

describe('sending to a real SMTP server on loopback', () => {
  it('delivers to To and Cc without TLS or AUTH; the attachments decode to the bytes on disk', async () => {
    const s = await sink();
    const result = await mailReport(fx.report, settingsFor(s), { env: {} });
    expect(result.accepted).toEqual(['sec@example.com', 'ops@example.com']);
    expect(result.rejected).toEqual([]);
    expect(result.attempts).toBe(1);
    expect(result.response).toMatch(/^250 /);
    expect(s.messages).toHaveLength(1);
    const got = s.messages[0]!;
    expect(got.from).toBe('audit@example.com');
    expect(got.to).toEqual(['sec@example.com', 'ops@example.com']);
    expect(got.raw.length).toBe(result.bytes);
    const parsed = await simpleParser(got.raw);
    expect(parsed.messageId).toBe(result.messageId);
    expect(parsed.cc && !Array.isArray(parsed.cc) ? parsed.cc.text : '').toBe('ops@example.com');
    // The hostile host name never became a header of its own.
    expect(parsed.headers.has('bcc')).toBe(false);
    expect(got.raw.toString('latin1')).not.toMatch(/^Bcc:/im);
    await expectReportMail(parsed);
  });

  it('upgrades with STARTTLS (requireTLS, the test CA) and authenticates with AUTH PLAIN from the environment', async () => {
    const s = await sink({ starttls: cert, auth: { user: USER, pass: PASSWORD, methods: ['PLAIN'] } });
    const logs: string[] = [];
    const result = await mailReport(
      fx.report,
      settingsFor(s, { url: `smtp://localhost:${s.port}`, requireTLS: true, tls: { ca: cert.cert } }),
      { env: CREDS, log: (l) => logs.push(l) },
    );
    expect(result.attempts).toBe(1);
    expect(s.authAttempts).toEqual([{ user: USER, method: 'PLAIN', ok: true }]);
    expect(s.messages[0]?.secure).toBe(true);
    expect(s.messages[0]?.user).toBe(USER);
    await expectReportMail(await simpleParser(s.messages[0]!.raw));
    expect(logs.join('\n')).not.toContain(PASSWORD);
  });

  it('speaks TLS from the first byte (smtps://) and authenticates with AUTH LOGIN', async () => {
    const s = await sink({ implicitTls: cert, auth: { user: USER, pass: PASSWORD, methods: ['LOGIN'] } });
    await mailReport(
      fx.report,
      settingsFor(s, { url: `smtps://localhost:${s.port}`, tls: { ca: cert.cert } }),
      {
        env: CREDS,
      },
    );
    expect(s.authAttempts).toEqual([{ user: USER, method: 'LOGIN', ok: true }]);
    expect(s.messages[0]?.secure).toBe(true);
  });

  it('takes credentials from the URL, with a warning that never shows the password', async () => {
    const s = await sink({ starttls: cert, auth: { user: USER, pass: PASSWORD } });
    const logs: string[] = [];
    const url = `smtp://${USER}:${encodeURIComponent(PASSWORD)}@localhost:${s.port}`;
    const result = await mailReport(fx.report, settingsFor(s, { url, tls: { ca: cert.cert } }), {
      env: {},
      log: (l) => logs.push(l),
    });
    expect(s.authAttempts[0]?.ok).toBe(true);
    expect(result.warnings.join('\n')).toMatch(
      /URL carries credentials, which may leak through the config file/,
    );
    const all = [...logs, ...result.warnings, result.response].join('\n');
    expect(all).toMatch(/may leak/);
    expect(all).not.toContain(PASSWORD);
    expect(all).not.toContain(encodeURIComponent(PASSWORD));
  });

  it('refuses a server certificate it cannot verify, without retrying', async () => {
    const s = await sink({ starttls: cert });
    const err = await caught(
      mailReport(fx.report, settingsFor(s, { url: `smtp://localhost:${s.port}`, requireTLS: true }), {
        env: {},
      }),
    );
    expect(err.code).toBe('MAIL_SEND_FAILED');
    expect(err.message).toMatch(/after 1 attempt \(permanent, not retried\)/);
    expect(s.connections).toBe(1);
    expect(s.messages).toHaveLength(0);
  });
});

describe('when SMTP fails', () => {
  it('reports wrong credentials with the 535 reply, never the password, and does not retry', async () => {
    const s = await sink({ starttls: cert, auth: { user: USER, pass: 'the-right-one' } });
    const logs: string[] = [];
    const err = await caught(
      mailReport(fx.report, settingsFor(s, { url: `smtp://localhost:${s.port}`, tls: { ca: cert.cert } }), {
        env: CREDS,
        log: (l) => logs.push(l),
      }),
    );
    expect(err.code).toBe('MAIL_SEND_FAILED');
    expect(err.message).toMatch(/535 5\.7\.8 Authentication credentials invalid/);
    expect(smtpReply(err)?.code).toBe(535);
    expect(s.connections).toBe(1);
    const everything = [err.message, String(err.stack), String((err.cause as Error).stack), ...logs].join(
      '\n',
    );
    expect(everything).not.toContain(PASSWORD);
  });

  it('reports a rejected recipient with its 550 reply, at once, and scrubs a password the server echoes', async () => {
    const s = await sink({
      rejectRecipient: (a) =>
        a === 'sec@example.com'
          ? { code: 550, message: `5.1.1 <${a}>: recipient rejected (${PASSWORD})` }
          : undefined,
    });
    const logs: string[] = [];
    const err = await caught(
      mailReport(fx.report, settingsFor(s, { cc: [] }), { env: CREDS, log: (l) => logs.push(l) }),
    );
    expect(err.code).toBe('MAIL_SEND_FAILED');
    expect(err.message).toMatch(/550 5\.1\.1 <sec@example\.com>: recipient rejected \(\*\*\*\)/);
    expect(err.message).toMatch(/reports are on disk/);
    expect(smtpReply(err)).toEqual({
      code: 550,
      text: '550 5.1.1 <sec@example.com>: recipient rejected (***)',
    });
    expect(s.connections).toBe(1);
    expect(s.messages).toHaveLength(0);
    expect([err.message, String(err.stack), ...logs].join('\n')).not.toContain(PASSWORD);
    // The reports stay on disk.
    expect((await disk('events.csv')).length).toBeGreaterThan(0);
  });

  it('delivers to the other recipients when one is refused, and says which one', async () => {
    const s = await sink({
      rejectRecipient: (a) =>
        a === 'ops@example.com' ? { code: 550, message: '5.1.1 no such user' } : undefined,
    });
    const result = await mailReport(fx.report, settingsFor(s), { env: {} });
    expect(result.accepted).toEqual(['sec@example.com']);
    expect(result.rejected).toEqual(['ops@example.com']);
    expect(result.warnings.join('\n')).toMatch(/refused ops@example\.com .*550 5\.1\.1 no such user/);
    expect(s.messages[0]?.to).toEqual(['sec@example.com']);
  });

  it('reports a message the server finds too large with its 552 reply, without retrying', async () => {
    const s = await sink({ size: 5000 });
    const err = await caught(mailReport(fx.report, settingsFor(s), { env: {} }));
    expect(err.code).toBe('MAIL_SEND_FAILED');
    expect(smtpReply(err)?.code).toBe(552);
    expect(err.message).toMatch(/552 /);
    expect(s.connections).toBe(1);
    expect(s.messages).toHaveLength(0);
  });

  it('retries a refused connection a bounded number of times, then fails with the socket error', async () => {
    const port = await unusedPort();
    const logs: string[] = [];
    const started = Date.now();
    const err = await caught(
      mailReport(fx.report, settingsFor({ port }, { retries: { attempts: 3, baseDelayMs: 50 } }), {
        env: {},
        log: (l) => logs.push(l),
      }),
    );
    expect(err.code).toBe('MAIL_SEND_FAILED');
    expect(err.message).toMatch(/after 3 attempts: .*ECONNREFUSED/);
    expect(logs.filter((l) => /attempt \d\/3 .* failed/.test(l))).toHaveLength(2);
    expect(logs.some((l) => l.includes('retrying in 50 ms'))).toBe(true);
    expect(logs.some((l) => l.includes('retrying in 100 ms'))).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
  });

  it('retries a server that never greets, after the greeting timeout', async () => {
    const silent = await startSilentServer();
    try {
      const err = await caught(
        mailReport(
          fx.report,
          settingsFor(silent, { retries: { attempts: 2, baseDelayMs: 10 }, timeouts: { greetingMs: 200 } }),
          { env: {} },
        ),
      );
      expect(err.message).toMatch(/after 2 attempts: .*(Greeting never received|timed? ?out)/i);
      expect(silent.accepted).toBe(2);
    } finally {
      await silent.close();
    }
  });

  it('retries after a 421 greeting and delivers on the next connection', async () => {
    const s = await sink({ failFirstConnections: 1 });
    const logs: string[] = [];
    const result = await mailReport(fx.report, settingsFor(s), { env: {}, log: (l) => logs.push(l) });
    expect(result.attempts).toBe(2);
    expect(s.connections).toBe(2);
    expect(s.messages).toHaveLength(1);
    expect(logs.join('\n')).toMatch(
      /attempt 1\/3 .* failed: .*421 4\.3\.2 try again later; retrying in 10 ms/,
    );
  });

  it('stops retrying when aborted', async () => {
    const port = await unusedPort();
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const started = Date.now();
    const err = await caught(
      mailReport(fx.report, settingsFor({ port }, { retries: { attempts: 10, baseDelayMs: 10_000 } }), {
        env: {},
        signal: controller.signal,
      }),
    );
    expect(err.message).toMatch(/interrupted/);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('refuses to send a message over maxMessageBytes, before connecting', async () => {
    const s = await sink();
    const err = await caught(mailReport(fx.report, settingsFor(s, { maxMessageBytes: 8000 }), { env: {} }));
    expect(err.code).toBe('MAIL_SEND_FAILED');
    expect(err.message).toMatch(/over the 8000-byte limit .*nothing was sent/);
    expect(s.connections).toBe(0);
  });
});

describe('--mail-dry-run', () => {
  it('writes the exact message as message.eml, which parses to the same content, and connects nowhere', async () => {
    const port = await unusedPort();
    const file = dryRunPathFor(fx.report.outDir);
    const report = { ...fx.report, warnings: [...fx.report.warnings, `config said password=${PASSWORD}`] };
    const url = `smtp://${USER}:${encodeURIComponent(PASSWORD)}@127.0.0.1:${port}`;
    const result = await mailReport(report, settingsFor({ port }, { url }), { env: CREDS, dryRunPath: file });
    expect(result.attempts).toBe(0);
    expect(result.response).toBe(`dry run: written to ${file}`);
    expect(result.warnings.join('\n')).toMatch(/may leak through the config file/);
    const raw = await readFile(file);
    expect(raw.length).toBe(result.bytes);
    expect(raw.toString('latin1')).toContain('\r\n');
    const parsed = await simpleParser(raw);
    expect(parsed.messageId).toBe(result.messageId);
    await expectReportMail(parsed);
    expect(parsed.text).toContain('config said password=***');
    const decoded = [raw.toString('latin1'), parsed.text, parsed.html, parsed.subject].join('\n');
    expect(decoded).not.toContain(PASSWORD);
    expect(decoded).not.toContain(encodeURIComponent(PASSWORD));
  });

  it('sends the same bytes it would write: a sent message and its dry run differ only in Message-ID and Date', async () => {
    const s = await sink();
    const settings = settingsFor(s);
    const file = path.join(fx.dir, 'dry.eml');
    const { mail } = await mailReport(fx.report, settings, { env: {}, dryRunPath: file });
    await sendReport(settings, mail, { env: {} });
    const norm = (b: Buffer) =>
      b
        .toString('latin1')
        .replace(/^(Message-ID|Date): .*$/gm, '')
        .replace(/--_NmP-[0-9a-f-]+/g, '--B')
        .replace(/boundary="[^"]+"/g, 'boundary=B');
    expect(norm(s.messages[0]!.raw)).toBe(norm(await readFile(file)));
  });
});
