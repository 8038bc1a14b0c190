/**
 * Local log files → a HostLogParser. Gzip-compressed rotated files (`audit.log.3.gz`) are recognised by their magic
 * bytes, not their name, and decompressed on the fly. Used by `auditsweep parse` and by tests; the SSH fetcher
 * feeds the same parser from SFTP streams.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import type { HostLogParser } from './host-parser.js';

export interface UnreadableFile {
  readonly file: string;
  readonly error: string;
}

async function isGzip(path: string): Promise<boolean> {
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
 * Streams each file, in the order given (oldest first), through one parser, then ends the parser. A file that
 * cannot be read is returned, not thrown, so the others are still parsed. `afterChunk` lets the caller apply
 * backpressure (e.g. wait for its CSV writer to drain).
 */
export async function parseLocalFiles(
  paths: readonly string[],
  parser: HostLogParser,
  afterChunk?: () => Promise<void> | void,
): Promise<UnreadableFile[]> {
  const unreadable: UnreadableFile[] = [];
  for (const path of paths) {
    parser.beginFile(path);
    try {
      const gzip = await isGzip(path);
      const raw = createReadStream(path, { highWaterMark: 256 * 1024 });
      let source: NodeJS.ReadableStream = raw;
      if (gzip) {
        const gunzip = createGunzip();
        raw.on('error', (err) => gunzip.destroy(err));
        source = raw.pipe(gunzip);
      }
      for await (const chunk of source) {
        parser.write(chunk as Buffer);
        if (afterChunk) await afterChunk();
      }
    } catch (err) {
      unreadable.push({ file: path, error: err instanceof Error ? err.message : String(err) });
    }
    parser.endFile();
  }
  parser.end();
  return unreadable;
}
