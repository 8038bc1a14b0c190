import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { simpleParser } from 'mailparser';
import { extract } from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planAttachments } from '../../src/mail/attachments.js';
import { composeMail } from '../../src/mail/compose.js';
import { buildMessage } from '../../src/mail/send.js';
import type { MailSettings } from '../../src/mail/types.js';
import { makeReportFixture, type ReportFixture } from './fixture.js';

const settings: MailSettings = { from: 'auditsweep <audit@example.com>', to: ['sec@example.com'] };

let fx: ReportFixture;
beforeAll(async () => {
  fx = await makeReportFixture({ eventRows: 3000 });
});
afterAll(async () => {
  await fx.cleanup();
});

async function onDisk(name: string): Promise<Buffer> {
  return readFile(path.join(fx.report.outDir, name));
}

describe('attachment policy', () => {
  it('attaches summary, hosts and findings as they are and events.csv gzip-compressed', async () => {
    const plan = await planAttachments(fx.report, settings);
    expect(plan.leftOut).toEqual([]);
    expect(plan.attachments.map((a) => [a.filename, a.form])).toEqual([
      ['summary.csv', 'as-is'],
      ['hosts.csv', 'as-is'],
      ['findings-failed-logins.csv', 'as-is'],
      ['findings-sudo.csv', 'as-is'],
      ['events.csv.gz', 'gzip'],
    ]);
    for (const a of plan.attachments.slice(0, 4))
      expect(a.content.equals(await onDisk(a.filename))).toBe(true);
    const gz = plan.attachments[4]!;
    expect(gunzipSync(gz.content).equals(await onDisk('events.csv'))).toBe(true);
    expect(gz.content.length).toBeLessThan((await onDisk('events.csv')).length);
  });

  it('puts events.csv over the compressed cap into one archive when that fits', async () => {
    const plan = await planAttachments(fx.report, { ...settings, eventsCapBytes: 1000 });
    expect(plan.leftOut).toEqual([]);
    const archive = plan.attachments.find((a) => a.form === 'archive');
    expect(archive?.filename).toBe('auditsweep-2026-11-23T060000Z-reports.tar.gz');
    expect(archive?.files.map((f) => f.name)).toEqual(['events.csv']);
    expect(plan.attachments.some((a) => a.filename === 'events.csv.gz')).toBe(false);

    const dir = await mkdtemp(path.join(tmpdir(), 'auditsweep-untar-'));
    try {
      const tgz = path.join(dir, 'a.tar.gz');
      await writeFile(tgz, archive!.content);
      await extract({ file: tgz, cwd: dir });
      expect((await readFile(path.join(dir, 'events.csv'))).equals(await onDisk('events.csv'))).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('leaves out what does not fit, naming the absolute paths in both bodies', async () => {
    // events.csv (~1 MB of random-looking rows) compresses to ~130 kB: over what a 60 kB message has left.
    const tight = { ...settings, maxMessageBytes: 60_000 };
    const plan = await planAttachments(fx.report, tight);
    expect(plan.attachments.map((a) => a.filename)).toEqual([
      'summary.csv',
      'hosts.csv',
      'findings-failed-logins.csv',
      'findings-sudo.csv',
    ]);
    const eventsPath = path.join(fx.report.outDir, 'events.csv');
    expect(plan.leftOut.map((l) => [l.file.name, l.reason, l.file.path])).toEqual([
      ['events.csv', 'too-large', eventsPath],
    ]);
    const mail = composeMail(fx.report, tight, plan);
    expect(mail.text).toMatch(/LEFT OUT OF THIS MAIL: 1 file/);
    expect(mail.text).toContain(`  ${eventsPath} (`);
    expect(mail.html).toContain(`<code>${eventsPath}</code>`);
  });

  it('archives large files that compress well together, and leaves out the archive when it cannot fit', async () => {
    const big = await makeReportFixture({
      eventRows: 200,
      extraFiles: [
        { name: 'parse-issues.csv', kind: 'other', content: 'file,line,reason\r\n'.repeat(200_000) },
      ],
    });
    try {
      // 3.6 MB of repetition: too big as is for a 1 MB message, tiny once compressed.
      const s = { ...settings, maxMessageBytes: 1_000_000, eventsCapBytes: 0 };
      const plan = await planAttachments(big.report, s);
      const archive = plan.attachments.find((a) => a.form === 'archive');
      expect(archive?.files.map((f) => f.name)).toEqual(['events.csv', 'parse-issues.csv']);
      expect(plan.leftOut).toEqual([]);
      expect((await buildMessage(composeMail(big.report, s, plan))).raw.length).toBeLessThanOrEqual(
        1_000_000,
      );

      const noisy = await makeReportFixture({
        eventRows: 200,
        extraFiles: [{ name: 'raw.bin', kind: 'other', content: randomBytes(3_000_000) }],
      });
      try {
        const p2 = await planAttachments(noisy.report, s);
        expect(p2.attachments.some((a) => a.form === 'archive')).toBe(false);
        expect(p2.leftOut.map((l) => [l.file.name, l.reason])).toEqual([
          ['events.csv', 'too-large'],
          ['raw.bin', 'too-large'],
        ]);
        const mail = composeMail(noisy.report, s, p2);
        expect((await buildMessage(mail)).raw.length).toBeLessThanOrEqual(1_000_000);
        expect(mail.text).toContain(path.join(noisy.report.outDir, 'raw.bin'));
      } finally {
        await noisy.cleanup();
      }
    } finally {
      await big.cleanup();
    }
  });

  it('reports a file that is missing on disk instead of failing', async () => {
    const report = {
      ...fx.report,
      files: [
        ...fx.report.files,
        { name: 'gone.csv', path: path.join(fx.dir, 'gone.csv'), kind: 'finding' as const, bytes: 9 },
      ],
    };
    const plan = await planAttachments(report, settings);
    expect(plan.leftOut.map((l) => [l.file.name, l.reason])).toEqual([['gone.csv', 'missing']]);
  });

  it('never builds a message larger than maxMessageBytes, down to a tiny cap', async () => {
    for (const cap of [8_000, 12_000, 20_000, 30_000, 45_000, 70_000, 100_000, 200_000, 20_000_000]) {
      const s = { ...settings, maxMessageBytes: cap };
      const plan = await planAttachments(fx.report, s);
      const mail = composeMail(fx.report, s, plan);
      const { raw } = await buildMessage(mail);
      // The bodies alone may not fit the tiniest caps; then send refuses (see send.test.ts).
      if (plan.attachments.length > 0) expect(raw.length, `cap ${cap}`).toBeLessThanOrEqual(cap);
      else expect(plan.leftOut).toHaveLength(fx.report.files.length);
      if (cap >= 30_000) expect(plan.attachments.length, `cap ${cap}`).toBeGreaterThanOrEqual(4);
      const parsed = await simpleParser(raw);
      const names = parsed.attachments.map((a) => a.filename);
      expect(names).toEqual(plan.attachments.map((a) => a.filename));
      for (const l of plan.leftOut) expect(parsed.text).toContain(l.file.path);
    }
  });
});
