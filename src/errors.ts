/** Codes a host collection can end with (issue #3, hosts.csv `code`). */
export const HOST_FAILURE_CODES = [
  'DNS',
  'REFUSED',
  'TIMEOUT',
  'HOST_KEY_UNKNOWN',
  'HOST_KEY_CHANGED',
  'AUTH_FAILED',
  'PERMISSION_DENIED',
  'LOG_MISSING',
  'PROTOCOL',
  'INTERRUPTED',
] as const;
export type HostFailureCode = (typeof HOST_FAILURE_CODES)[number];

/** Every error the library raises carries one of these codes. */
export type ErrorCode =
  | HostFailureCode
  | 'USAGE'
  | 'CONFIG_INVALID'
  | 'INVENTORY_INVALID'
  | 'FILE_UNREADABLE'
  | 'OUTPUT_FAILED'
  | 'MAIL_SEND_FAILED'
  | 'INTERNAL';

/** The one error class of auditsweep. Always constructed with the underlying `cause` when there is one. */
export class SweepError extends Error {
  readonly code: ErrorCode;
  override readonly name = 'SweepError';

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

export function isSweepError(err: unknown): err is SweepError {
  return err instanceof SweepError;
}
