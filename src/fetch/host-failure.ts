/**
 * What a host's failure is called in hosts.csv and in `hosts check`: one of {@link HOST_FAILURE_CODES} and a
 * one-line message. The errors were classified where they arose (session, transports); this only maps codes
 * that are not host failures (a bug, a usage error) to PROTOCOL, keeping their code in the message.
 */
import { HOST_FAILURE_CODES, type HostFailureCode, SweepError } from '../errors.js';
import { oneLine } from './classify-error.js';

/** `err` (anything a host's collection threw) → its host failure code and message. */
export function hostFailure(err: unknown): { code: HostFailureCode; message: string } {
  if (err instanceof SweepError) {
    const code = err.code;
    const host: readonly string[] = HOST_FAILURE_CODES;
    // Long enough for a remedy with its sudoers rule (PERMISSION_DENIED): the message is what the operator reads.
    if (host.includes(code)) return { code: code as HostFailureCode, message: oneLine(err.message, 2000) };
    // The run could not write what the host sent (disk full…): the host was interrupted, not at fault.
    if (code === 'OUTPUT_FAILED')
      return { code: 'INTERRUPTED', message: oneLine(`the run stopped: ${err.message}`) };
    return { code: 'PROTOCOL', message: oneLine(`${err.code}: ${err.message}`) };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { code: 'PROTOCOL', message: oneLine(`unexpected error: ${message}`) };
}
