/**
 * Local log files → a HostLogParser. Gzip-compressed rotated files (`audit.log.3.gz`) are recognised by their magic
 * bytes, not their name, and decompressed on the fly. Used by `auditsweep parse` and by tests; the SSH fetcher
 * feeds the same parser from SFTP streams.
 */
import { closeSync, createReadStream, openSync, readSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import type { HostLogParser } from './host-parser.js';

export interface UnreadableFile {
  readonly file: string;
  readonly error: string;
}

/** Whether the file starts with the gzip magic bytes. */
export async function isGzip(path: string): Promise<boolean> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(2);
    const { bytesRead } = await fh.read(buf, 0, 2, 0);
    return bytesRead === 2 && buf[0] === 0x1f && buf[1] === 0x8b;
  } finally {
    await fh.close();
  }
}

/**
 * Bytes read at a time. Small enough that a chunk and what is made of it die young (a 1 MiB chunk survives
 * several scavenges and raises the peak RSS by tens of MB), big enough that reads cost little.
 */
const CHUNK_BYTES = 64 * 1024;

/**
 * A plain file, read into one reused buffer (the parser copies what it keeps). Reads are synchronous: a local log
 * is read faster than a promise per read can be settled (a fifth of the CPU time of the reads otherwise). The
 * event loop still runs between chunks, for the writes and the row workers.
 */
async function readPlain(
  path: string,
  parser: HostLogParser,
  afterChunk: (() => Promise<void> | void) | undefined,
  onBytes: ((chunk: Buffer) => void) | undefined,
): Promise<void> {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(CHUNK_BYTES);
    for (;;) {
      const bytesRead = readSync(fd, buf, 0, CHUNK_BYTES, null);
      if (bytesRead === 0) break;
      onBytes?.(buf.subarray(0, bytesRead));
      parser.write(buf.subarray(0, bytesRead));
      if (afterChunk) await afterChunk();
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * Streams each file, in the order given (oldest first), through one parser, then ends the parser. A file that
 * cannot be read is returned, not thrown, so the others are still parsed. `afterChunk` lets the caller apply
 * backpressure (e.g. wait for its CSV writer to drain). `onBytes` sees each file's bytes as stored (compressed for
 * a gzip file), in order, as they are read: the manifest hashes what was parsed, not a later copy of the file.
 */
export async function parseLocalFiles(
  paths: readonly string[],
  parser: HostLogParser,
  afterChunk?: () => Promise<void> | void,
  onBytes?: (path: string, chunk: Buffer) => void,
): Promise<UnreadableFile[]> {
  const unreadable: UnreadableFile[] = [];
  for (const path of paths) {
    parser.beginFile(path);
    const seen = onBytes === undefined ? undefined : (chunk: Buffer) => onBytes(path, chunk);
    try {
      if (await isGzip(path)) {
        const raw = createReadStream(path, { highWaterMark: CHUNK_BYTES });
        if (seen) raw.on('data', (chunk) => seen(chunk as Buffer));
        const gunzip = createGunzip();
        raw.on('error', (err) => gunzip.destroy(err));
        for await (const chunk of raw.pipe(gunzip)) {
          parser.write(chunk as Buffer);
          if (afterChunk) await afterChunk();
        }
      } else {
        await readPlain(path, parser, afterChunk, seen);
      }
    } catch (err) {
      unreadable.push({ file: path, error: err instanceof Error ? err.message : String(err) });
    }
    parser.endFile();
  }
  parser.end();
  return unreadable;
}
