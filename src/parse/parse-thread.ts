/**
 * `auditsweep parse` of a large input on a thread of its own (parse-here.ts parseHere(), which starts the row
 * workers from there): a worker's heap limits can be set, the main thread's cannot, and with the main thread's
 * default young generation the peak RSS of read + tokenize + reassemble + row workers passes 200 MB.
 */
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { type ErrorCode, isSweepError, SweepError } from '../errors.js';
import type { ParseLogsOptions, ParseLogsResult } from '../parse-logs.js';

/** Marks the workerData of the parse thread. */
const ROLE = 'auditsweep-parse-thread';

interface ParseThreadData {
  readonly role: typeof ROLE;
  readonly options: ParseLogsOptions & { readonly workers: number };
}

/** The thread's one message: its result, or the SweepError it ended with (an Error loses its class on the way). */
type ThreadMessage =
  | { readonly result: ParseLogsResult }
  | { readonly failure: { readonly code: ErrorCode; readonly message: string } };

const THREAD_URL = new URL('./parse-thread.js', import.meta.url);

/**
 * The parse thread's heap: a young generation of 12 MB (4 MB semi-spaces) rather than the default 48 MB; the work
 * it does is the same (short-lived records), at the same speed.
 */
const THREAD_LIMITS = { maxYoungGenerationSizeMb: 12 };

/** Whether the compiled thread module is there (not when the sources run untranspiled, as under a test runner). */
export function parseThreadAvailable(): boolean {
  return THREAD_URL.protocol === 'file:' && existsSync(fileURLToPath(THREAD_URL));
}

/** Runs parseHere(options, options.workers) on the parse thread and returns its result. */
export async function parseOnThread(
  options: ParseLogsOptions & { readonly workers: number },
): Promise<ParseLogsResult> {
  if (options.stdout !== undefined) throw new Error('the parse thread writes files, not a stream');
  const { stdout: _stdout, ...rest } = options;
  const data: ParseThreadData = { role: ROLE, options: rest };
  const thread = new Worker(THREAD_URL, { workerData: data, resourceLimits: THREAD_LIMITS });
  let message: ThreadMessage | undefined;
  thread.on('message', (m: ThreadMessage) => {
    message = m;
  });
  // 'error' makes once() reject with the thread's error; 'exit' comes after the message.
  const [code] = (await once(thread, 'exit')) as [number];
  if (message === undefined) throw new Error(`the parse thread stopped without a result (exit code ${code})`);
  if ('failure' in message) throw new SweepError(message.failure.code, message.failure.message);
  return message.result;
}

async function runHere(options: ParseThreadData['options']): Promise<ParseLogsResult> {
  // Imported here, by the parse thread alone: the main thread has no use for the parser's code.
  const { parseHere } = await import('../parse-here.js');
  return parseHere(options, options.workers);
}

const data = workerData as Partial<ParseThreadData> | undefined;
if (!isMainThread && parentPort !== null && data?.role === ROLE && data.options !== undefined) {
  const port = parentPort;
  runHere(data.options).then(
    (result) => port.postMessage({ result } satisfies ThreadMessage),
    (err: unknown) => {
      if (isSweepError(err)) {
        port.postMessage({ failure: { code: err.code, message: err.message } } satisfies ThreadMessage);
        return;
      }
      // Uncaught, the error ends the thread and reaches parseOnThread() through the 'error' event.
      setImmediate(() => {
        throw err;
      });
    },
  );
}
