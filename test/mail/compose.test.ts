import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { base64Bytes, base64Capacity, composeMail } from '../../src/mail/compose.js';
import { isoWeek, renderSubject, reportWeek, unknownPlaceholders } from '../../src/mail/subject.js';
import type { AttachmentPlan, MailReport, MailSettings } from '../../src/mail/types.js';
import { HOSTILE_HOST, HOSTILE_MESSAGE, HOSTS } from './fixture.js';

const report: MailReport = {
  runId: 'r1',
  outDir: '/srv/reports/r1',
  generatedAt: new Date('2026-11-23T06:00:00Z'),
  window: { since: new Date('2026-11-16T00:00:00Z'), until: new Date('2026-11-23T00:00:00Z') },
  hosts: HOSTS,
  totals: { events: 15910, failedLogins: 17, failedAuthentications: 5, sudoCommands: 42 },
  alerts: [
    { rule: 'sudo-burst', severity: 'low', message: 'alice ran 40 sudo commands' },
    { rule: 'brute-force', severity: 'high', message: '12 failed root logins on web-01' },
  ],
  warnings: ['host keys were NOT verified (--insecure-accept-unknown-host-keys)'],
  files: [],
};
const settings: MailSettings = { from: 'auditsweep <audit@example.com>', to: ['sec@example.com'] };
const plan: AttachmentPlan = {
  attachments: [],
  leftOut: [
    {
      file: { name: 'events.csv', path: '/srv/reports/r1/events.csv', kind: 'events', bytes: 350_000_000 },
      reason: 'too-large',
    },
  ],
  maxMessageBytes: 20_000_000,
  outDir: '/srv/reports/r1',
};

describe('isoWeek', () => {
  it.each([
    ['2026-11-19T12:00:00Z', '2026-W47'],
    ['2026-11-16T00:00:00Z', '2026-W47'],
    ['2026-11-22T23:59:59Z', '2026-W47'],
    ['2027-01-01T00:00:00Z', '2026-W53'], // a Friday: belongs to the last week of 2026
    ['2024-12-30T00:00:00Z', '2025-W01'], // a Monday: week 1 of 2025 starts here
    ['2021-01-03T00:00:00Z', '2020-W53'],
    ['2026-01-01T00:00:00Z', '2026-W01'], // a Thursday
    ['2023-01-01T00:00:00Z', '2022-W52'], // a Sunday
  ])('puts %s in %s', (date, week) => {
    expect(isoWeek(new Date(date))).toBe(week);
  });

  it('names the week of the last instant of the window (its end is exclusive), else the run time', () => {
    expect(reportWeek(report)).toBe('2026-W47');
    expect(reportWeek({ window: {}, generatedAt: new Date('2026-11-23T06:00:00Z') })).toBe('2026-W48');
  });
});

describe('subject', () => {
  it('gives the fleet status, the failed hosts and the ISO week, alerts first', () => {
    const subject = renderSubject(report);
    expect(subject).toMatch(
      /^\[auditsweep\] 2 ALERTS \(1 high\) — 6 hosts, 3 failed \(db-01, evil\.example Bcc: victim@example\.org, mail-02\), 17 failed logins — week 2026-W47$/,
    );
  });

  it('never lets CR or LF from a host name into the subject', () => {
    const subject = renderSubject(report);
    expect(subject).not.toMatch(/[\r\n]/);
    const custom = renderSubject(report, 'x {failedHosts}\r\nBcc: a@b {runId}');
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the property under test
    expect(custom).not.toMatch(/[\u0000-\u001f]/);
  });

  it('fills every documented placeholder and leaves unknown ones as written', () => {
    const s = renderSubject(
      report,
      '{hosts}/{ok}/{partial}/{failed} {failedLogins} {failedAuthentications} {events} {alerts} {week} {runId} {nope}',
    );
    expect(s).toBe('6/2/1/3 17 5 15910 2 2026-W47 r1 {nope}');
    expect(unknownPlaceholders('{hosts} {nope} {week} {nope}')).toEqual(['nope']);
  });

  it('lists at most three failed hosts, then how many more', () => {
    const many = {
      ...report,
      alerts: [],
      hosts: ['a', 'b', 'c', 'd', 'e'].map((host) => ({ ...HOSTS[1]!, host })),
    };
    expect(renderSubject(many)).toBe(
      '[auditsweep] 5 hosts, 5 failed (a, b, c +2 more), 17 failed logins — week 2026-W47',
    );
  });
});

describe('bodies', () => {
  const mail = composeMail(report, settings, plan);

  it('leads with alerts (high first), then warnings, then failed hosts, then the summary', () => {
    const t = mail.text;
    const order = [
      t.indexOf('ALERTS (2)'),
      t.indexOf('[HIGH] brute-force'),
      t.indexOf('[LOW] sudo-burst'),
      t.indexOf('host keys were NOT verified'),
      t.indexOf('FAILED HOSTS (3 of 6)'),
      t.indexOf('SUMMARY'),
      t.indexOf('HOSTS (failed first)'),
    ];
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(t).toContain('Sudo commands: 42');
  });

  it('lists failed hosts before partial and ok ones in the host table', () => {
    const table = mail.text.slice(mail.text.indexOf('HOSTS (failed first)'));
    const pos = (h: string) => table.indexOf(` ${h}:`);
    expect(pos('db-01')).toBeLessThan(pos('app-03'));
    expect(pos('mail-02')).toBeLessThan(pos('app-03'));
    expect(pos('app-03')).toBeLessThan(pos('api-02'));
    expect(pos('api-02')).toBeLessThan(pos('web-01'));
    const html = mail.html.slice(mail.html.indexOf('Hosts (failed first)'));
    expect(html.indexOf('>db-01<')).toBeLessThan(html.indexOf('>app-03<'));
    expect(html.indexOf('>app-03<')).toBeLessThan(html.indexOf('>web-01<'));
  });

  it('keeps a hostile host name on one line in text and escapes it in HTML', () => {
    expect(mail.text).not.toContain('\r');
    expect(mail.text.split('\n').some((l) => l.startsWith('Bcc:'))).toBe(false);
    expect(mail.html).not.toContain('<script>');
    expect(mail.html).toContain('&#60;script&#62;alert(&#34;pwned&#34;)&#60;/script&#62; &#38; more');
    expect(mail.text).toContain(HOSTILE_MESSAGE);
    expect(mail.text).toContain(HOSTILE_HOST.replace('\r\n', ' '));
  });

  it('says which files were left out and where they are on disk', () => {
    expect(mail.text).toMatch(
      /LEFT OUT OF THIS MAIL: 1 file .*:\n {2}\/srv\/reports\/r1\/events\.csv \(350 MB, too large/,
    );
    expect(mail.html).toContain('Left out of this mail: 1 file');
    expect(mail.html).toContain('<code>/srv/reports/r1/events.csv</code>');
  });

  it("uses the report module's summary when it provides one, still leading with alerts and failed hosts", () => {
    const withSummary = composeMail(
      { ...report, summaryText: 'FROM REPORT MODULE', summaryHtml: '<p id="from-report">FROM REPORT</p>' },
      settings,
      plan,
    );
    expect(withSummary.text.indexOf('FAILED HOSTS')).toBeLessThan(
      withSummary.text.indexOf('FROM REPORT MODULE'),
    );
    expect(withSummary.html).toContain('<p id="from-report">FROM REPORT</p>');
    expect(withSummary.text).not.toContain('Failed authentications:');
  });

  it('refuses to compose without a recipient', () => {
    expect(() => composeMail(report, { ...settings, to: [] }, plan)).toThrow(/no recipient/);
  });
});

describe('base64 sizes', () => {
  it('match what a 76-column base64 part really takes', () => {
    for (const n of [0, 1, 2, 3, 56, 57, 58, 113, 114, 1000, 65_536, 99_999]) {
      const b64 = Buffer.alloc(n, 7).toString('base64');
      const lines = b64.match(/.{1,76}/g) ?? [];
      expect(base64Bytes(n)).toBe(lines.reduce((s, l) => s + l.length + 2, 0));
    }
  });

  it('invert: the capacity of an encoded size is the largest content that fits', () => {
    for (const encoded of [0, 1, 77, 78, 79, 1000, 123_457, 10_000_000]) {
      const cap = base64Capacity(encoded);
      expect(base64Bytes(cap)).toBeLessThanOrEqual(encoded);
      expect(base64Bytes(cap + 1)).toBeGreaterThan(encoded);
    }
  });
});

describe('hostile host names (property)', () => {
  it('never put a control character into the subject or a raw tag into the HTML', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 80 }),
        fc.string({ maxLength: 80 }),
        (host, message) => {
          const r: MailReport = {
            ...report,
            hosts: [{ ...HOSTS[1]!, host, message }],
            alerts: [{ rule: host, severity: 'high', message }],
            warnings: [message],
          };
          const m = composeMail(r, settings, plan);
          // biome-ignore lint/suspicious/noControlCharactersInRegex: the property under test
          expect(m.subject).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/);
          const bodyHtml = m.html
            .replace('<!DOCTYPE html>', '')
            .replace(
              /<\/?(html|head|meta|title|body|h2|h3|p|ul|li|strong|code|table|tr|th|td|span)\b[^<>]*>/g,
              '',
            );
          expect(bodyHtml).not.toMatch(/[<>]/);
          // Each host-influenced value stays on one text line.
          expect(m.text).not.toMatch(/\r/);
        },
      ),
      { numRuns: 300 },
    );
  });
});
