/**
 * The parser as a stream for programs that use auditsweep as a library: the bytes of one host's audit logs in
 * (a file, an SSH channel, stdin), its events with their events.csv rows out, in order, as each one is complete.
 * The same stages as `auditsweep parse` (HostLogParser), on the caller's thread; memory stays bounded whatever the
 * input's size, since the events of a chunk are handed on before the next chunk is read.
 */
import type { ParseCounters, ParsedEvent, ParseIssue } from '../types.js';
import { HostLogParser, type HostParserOptions } from './host-parser.js';

export interface EventStreamOptions extends HostParserOptions {
  /** The input's name in `source_file` and in issues (default `-`). */
  readonly file?: string | undefined;
  /** Called for each bad line, as it is met; a bad line never ends the stream (it is counted too). */
  readonly onIssue?: ((issue: ParseIssue) => void) | undefined;
}

/**
 * Parses one audit log (several rotated files of a host: call it with their bytes concatenated oldest first, or
 * use parseLogs) and yields each event with its row. Returns the counters (lines, records, events, bad lines).
 */
export async function* parseAuditStream(
  input: AsyncIterable<Uint8Array | string>,
  options: EventStreamOptions,
): AsyncGenerator<ParsedEvent, ParseCounters, undefined> {
  let ready: ParsedEvent[] = [];
  const parser = new HostLogParser(options, {
    event: (parsed) => {
      ready.push(parsed);
    },
    issue: (issue) => options.onIssue?.(issue),
  });
  parser.beginFile(options.file ?? '-');
  for await (const chunk of input) {
    parser.write(
      typeof chunk === 'string'
        ? Buffer.from(chunk)
        : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength),
    );
    if (ready.length > 0) {
      const batch = ready;
      ready = [];
      yield* batch;
    }
  }
  parser.end();
  yield* ready;
  return parser.counters;
}
