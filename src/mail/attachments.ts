/**
 * The attachment policy (the small I/O helper of compose; the one importer of `tar`). A report and the mail
 * settings in; an `AttachmentPlan` out, whose encoded attachments always fit the message limit:
 *
 * 1. The message's own weight (headers, both bodies, part headers) is reserved from `maxMessageBytes` first
 *    (`messageOverheadBytes`, an upper bound).
 * 2. summary, hosts and finding CSVs are attached as they are, in that order, while they fit.
 * 3. Each events file is attached gzip-compressed (`events.csv.gz`) when its compressed size is at most
 *    `eventsCapBytes` and it fits what is left.
 * 4. `other` files are attached as they are when they fit what is left.
 * 5. Everything that did not fit goes into ONE tar.gz archive, attached if it fits what is left; otherwise those
 *    files are left out, and the body lists them with their absolute paths.
 *
 * Compression stops as soon as its output passes the space it could use, so a 2 GB events.csv costs a bounded
 * read, and memory stays under the message limit.
 */
import { open, stat } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { create as createTar } from 'tar';
import {
  archiveName,
  base64Bytes,
  base64Capacity,
  DEFAULT_EVENTS_CAP_BYTES,
  DEFAULT_MAX_MESSAGE_BYTES,
  messageOverheadBytes,
} from './compose.js';
import type {
  AttachmentPlan,
  LeftOutReason,
  MailReport,
  MailSettings,
  PlannedAttachment,
  PlannedFile,
  ReportFile,
} from './types.js';

/** MIME type by file name. */
export function contentTypeOf(filename: string): string {
  const lower = filename.toLowerCase();
  if (lower.endsWith('.gz') || lower.endsWith('.tgz')) return 'application/gzip';
  if (lower.endsWith('.csv')) return 'text/csv; charset=utf-8';
  if (lower.endsWith('.html') || lower.endsWith('.htm')) return 'text/html; charset=utf-8';
  if (lower.endsWith('.json')) return 'application/json';
  if (lower.endsWith('.txt') || lower.endsWith('.log')) return 'text/plain; charset=utf-8';
  return 'application/octet-stream';
}

const KIND_ORDER: Record<ReportFile['kind'], number> = {
  summary: 0,
  hosts: 1,
  finding: 2,
  events: 3,
  other: 4,
};

class OverLimit extends Error {}

/** Collects a stream into memory, failing with OverLimit as soon as it passes `limit` bytes. */
function boundedSink(limit: number): { sink: Writable; result: () => Buffer } {
  const chunks: Buffer[] = [];
  let size = 0;
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      size += chunk.length;
      if (size > limit) {
        callback(new OverLimit());
        return;
      }
      chunks.push(chunk);
      callback();
    },
  });
  return { sink, result: () => Buffer.concat(chunks, size) };
}

/** gzip (level 9) of `source`, or undefined when the output would pass `limit` bytes. */
async function gzipBounded(
  source: NodeJS.ReadableStream | AsyncIterable<Buffer>,
  limit: number,
  signal: AbortSignal | undefined,
): Promise<Buffer | undefined> {
  if (limit <= 0) return undefined;
  const { sink, result } = boundedSink(limit);
  try {
    await pipeline(source, createGzip({ level: 9 }), sink, signal ? { signal } : {});
  } catch (err) {
    if (err instanceof OverLimit) return undefined;
    throw err;
  }
  return result();
}

async function gzipFile(
  path: string,
  limit: number,
  signal: AbortSignal | undefined,
): Promise<Buffer | undefined> {
  const handle = await open(path, 'r');
  try {
    return await gzipBounded(handle.createReadStream({ autoClose: false }), limit, signal);
  } finally {
    await handle.close();
  }
}

/** A tar.gz of `files` (paths relative to `cwd`, portable headers), or undefined past `limit` bytes. */
async function tarGzBounded(
  cwd: string,
  files: readonly string[],
  limit: number,
  signal: AbortSignal | undefined,
): Promise<Buffer | undefined> {
  if (limit <= 0) return undefined;
  const pack = createTar({ cwd, portable: true }, [...files]);
  return gzipBounded(pack as AsyncIterable<Buffer>, limit, signal);
}

async function readWhole(path: string, bytes: number): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    const buf = Buffer.alloc(bytes);
    let off = 0;
    while (off < bytes) {
      const { bytesRead } = await handle.read(buf, off, bytes - off, off);
      if (bytesRead === 0) break;
      off += bytesRead;
    }
    // A file that changed since stat: send what we read, the size check in send stays exact.
    return off === bytes ? buf : buf.subarray(0, off);
  } finally {
    await handle.close();
  }
}

/** Stats each file; a missing one gets `bytes: 0` and is reported. */
async function locate(
  files: readonly ReportFile[],
): Promise<{ file: PlannedFile; problem?: LeftOutReason | undefined }[]> {
  return Promise.all(
    files.map(async (f) => {
      const path = resolve(f.path);
      try {
        const st = await stat(path);
        if (!st.isFile())
          return { file: { name: f.name, path, kind: f.kind, bytes: 0 }, problem: 'missing' as const };
        return { file: { name: f.name, path, kind: f.kind, bytes: st.size } };
      } catch {
        return { file: { name: f.name, path, kind: f.kind, bytes: 0 }, problem: 'missing' as const };
      }
    }),
  );
}

function insideFolder(folder: string, path: string): string | undefined {
  const rel = relative(folder, path);
  if (rel === '' || rel.startsWith(`..${sep}`) || rel === '..' || isAbsolute(rel)) return undefined;
  return rel;
}

/** Chooses and prepares the attachments of a report (see the module comment for the policy). */
export async function planAttachments(
  report: MailReport,
  settings: MailSettings,
  options: { signal?: AbortSignal | undefined } = {},
): Promise<AttachmentPlan> {
  const { signal } = options;
  const maxMessageBytes = settings.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  const eventsCap = settings.eventsCapBytes ?? DEFAULT_EVENTS_CAP_BYTES;
  const outDir = resolve(report.outDir);

  const located = await locate(
    [...report.files].sort((a, b) => KIND_ORDER[a.kind] - KIND_ORDER[b.kind] || a.name.localeCompare(b.name)),
  );
  const attachments: PlannedAttachment[] = [];
  const leftOut: { file: PlannedFile; reason: LeftOutReason }[] = [];
  const pile: PlannedFile[] = [];
  let remaining =
    maxMessageBytes -
    messageOverheadBytes(
      report,
      settings,
      located.map((l) => l.file),
      outDir,
    );

  const attachAsIs = async (file: PlannedFile): Promise<boolean> => {
    if (base64Bytes(file.bytes) > remaining) return false;
    const content = await readWhole(file.path, file.bytes);
    attachments.push({
      filename: file.name,
      contentType: contentTypeOf(file.name),
      content,
      form: 'as-is',
      files: [file],
    });
    remaining -= base64Bytes(content.length);
    return true;
  };

  for (const { file, problem } of located) {
    if (problem) {
      leftOut.push({ file, reason: problem });
      continue;
    }
    try {
      if (file.kind === 'events') {
        const limit = Math.min(eventsCap, base64Capacity(remaining));
        const content = await gzipFile(file.path, limit, signal);
        if (content) {
          const filename = `${file.name}.gz`;
          attachments.push({
            filename,
            contentType: 'application/gzip',
            content,
            form: 'gzip',
            files: [file],
          });
          remaining -= base64Bytes(content.length);
        } else {
          pile.push(file);
        }
      } else if (!(await attachAsIs(file))) {
        pile.push(file);
      }
    } catch (err) {
      if (signal?.aborted) throw err;
      leftOut.push({ file, reason: 'unreadable' });
    }
  }

  const archivable: { file: PlannedFile; rel: string }[] = [];
  for (const file of pile) {
    const rel = insideFolder(outDir, file.path);
    if (rel === undefined) leftOut.push({ file, reason: 'outside-report-folder' });
    else archivable.push({ file, rel });
  }
  if (archivable.length > 0) {
    let content: Buffer | undefined;
    let reason: LeftOutReason = 'too-large';
    try {
      content = await tarGzBounded(
        outDir,
        archivable.map((a) => a.rel),
        base64Capacity(remaining),
        signal,
      );
    } catch (err) {
      if (signal?.aborted) throw err;
      reason = 'unreadable';
    }
    if (content) {
      attachments.push({
        filename: archiveName(report.runId),
        contentType: 'application/gzip',
        content,
        form: 'archive',
        files: archivable.map((a) => a.file),
      });
      remaining -= base64Bytes(content.length);
    } else {
      for (const { file } of archivable) leftOut.push({ file, reason });
    }
  }

  return { attachments, leftOut, maxMessageBytes, outDir };
}
