/**
 * Maps what ssh2 and node:net throw to a {@link SweepError} with a host failure code and a one-line human
 * message (no stack, no secrets). The session layer calls it with what it knows about the connection: which
 * phase it was in and whether authentication had succeeded.
 */
import { SweepError } from '../errors.js';

/** Where a connection was when it failed. */
export type ConnectPhase =
  /** TCP connect (or, through a jump host, opening the forwarded channel). */
  | 'connect'
  /** TCP is up; waiting for the SSH banner, key exchange and host key check. */
  | 'handshake'
  /** Key exchange done; authenticating. */
  | 'auth'
  /** Authenticated: channels (SFTP, exec) are in use. */
  | 'ready';

export interface ErrorContext {
  /** How the host is named in the message, e.g. `web-01 (10.0.0.5:22)`. */
  readonly label: string;
  readonly phase: ConnectPhase;
  /** The timeout that applied to the phase, for a TIMEOUT message. */
  readonly timeoutMs?: number;
}

/** Errors that a later attempt may not see: REFUSED, TIMEOUT, and connection resets marked by {@link classifyError}. */
const transientResets = new WeakSet<SweepError>();

const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_NONAME', 'EAI_FAIL', 'EAI_NODATA']);
const TIMEOUT_CODES = new Set(['ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN']);
const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED']);

interface NodeishError {
  readonly message?: unknown;
  readonly code?: unknown;
  readonly level?: unknown;
  readonly name?: unknown;
}

/**
 * One printable line of at most `max` characters. Messages carry text a server chose (SFTP and sudo errors): C0
 * and C1 control characters (ESC, and U+009B, the one-character CSI some terminals obey) and the bidirectional
 * overrides go, so that no message can move the cursor, recolour or reorder a reviewer's terminal.
 */
export function oneLine(text: string, max = 300): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is being removed
  const flat = text.replace(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

function seconds(ms: number | undefined): string {
  if (ms === undefined) return '';
  return ` within ${ms % 1000 === 0 ? ms / 1000 : (ms / 1000).toFixed(1)} s`;
}

function phaseWords(phase: ConnectPhase): string {
  switch (phase) {
    case 'connect':
      return 'while connecting';
    case 'handshake':
      return 'during the SSH handshake';
    case 'auth':
      return 'during authentication';
    case 'ready':
      return 'after login';
  }
}

/** A SweepError for `code` whose failure a retry may not see again. */
export function transientError(code: 'PROTOCOL', message: string, cause: unknown): SweepError {
  const err = new SweepError(code, message, { cause });
  transientResets.add(err);
  return err;
}

/**
 * True for failures worth another attempt: REFUSED, TIMEOUT, and connections reset before login (e.g. sshd's
 * MaxStartups dropping a connection). Never AUTH_FAILED, HOST_KEY_*, DNS or INTERRUPTED.
 */
export function isTransientError(err: unknown): boolean {
  if (!(err instanceof SweepError)) return false;
  return err.code === 'REFUSED' || err.code === 'TIMEOUT' || transientResets.has(err);
}

/** An INTERRUPTED error for an aborted operation (the per-host deadline, Ctrl-C). */
export function interruptedError(label: string, what: string, cause?: unknown): SweepError {
  const reason = abortReason(cause);
  return new SweepError('INTERRUPTED', `${label}: interrupted ${what}${reason ? ` (${reason})` : ''}`, {
    cause,
  });
}

function abortReason(cause: unknown): string | undefined {
  if (cause instanceof Error && cause.name !== 'AbortError' && cause.message)
    return oneLine(cause.message, 120);
  if (typeof cause === 'string') return oneLine(cause, 120);
  return undefined;
}

/**
 * Classifies `err` (anything thrown or emitted) into a SweepError. A SweepError passes through unchanged.
 * Once authenticated (`phase: 'ready'`), a lost connection is INTERRUPTED rather than PROTOCOL.
 */
export function classifyError(err: unknown, ctx: ErrorContext): SweepError {
  if (err instanceof SweepError) return err;
  const e = (typeof err === 'object' && err !== null ? err : {}) as NodeishError;
  const message = typeof e.message === 'string' ? e.message : String(err);
  const code = typeof e.code === 'string' ? e.code : undefined;
  const level = typeof e.level === 'string' ? e.level : undefined;
  const { label, phase } = ctx;
  const detail = oneLine(message, 200);

  if (e.name === 'AbortError') return interruptedError(label, phaseWords(phase), err);

  if ((code && DNS_CODES.has(code)) || level === 'client-dns') {
    return new SweepError('DNS', `${label}: cannot resolve the host name (${code ?? detail})`, {
      cause: err,
    });
  }
  if (code === 'ECONNREFUSED') {
    return new SweepError('REFUSED', `${label}: connection refused (is sshd running on that port?)`, {
      cause: err,
    });
  }
  if (code && TIMEOUT_CODES.has(code)) {
    const what = code === 'ETIMEDOUT' ? 'connection timed out' : `host unreachable (${code})`;
    return new SweepError('TIMEOUT', `${label}: ${what}`, { cause: err });
  }
  if (/^Keepalive timeout/i.test(message)) {
    return phase === 'ready'
      ? new SweepError('INTERRUPTED', `${label}: the server stopped answering keepalives`, { cause: err })
      : new SweepError('TIMEOUT', `${label}: the server stopped answering ${phaseWords(phase)}`, {
          cause: err,
        });
  }
  if (level === 'client-timeout' || /timed out/i.test(message)) {
    const what =
      phase === 'connect'
        ? 'no TCP connection'
        : phase === 'handshake'
          ? 'connected, but no SSH handshake'
          : phase === 'auth'
            ? 'no answer to authentication'
            : 'no answer';
    return new SweepError('TIMEOUT', `${label}: ${what}${seconds(ctx.timeoutMs)}`, { cause: err });
  }
  if (
    /All configured authentication methods failed/i.test(message) ||
    /Too many authentication failures/i.test(message) ||
    /no more authentication methods/i.test(message)
  ) {
    return new SweepError('AUTH_FAILED', `${label}: authentication failed (${detail})`, { cause: err });
  }
  if (/Host denied/i.test(message)) {
    return new SweepError('HOST_KEY_UNKNOWN', `${label}: host key refused`, { cause: err });
  }
  if (phase === 'ready') {
    const what = code && RESET_CODES.has(code) ? `connection reset (${code})` : detail;
    return new SweepError('INTERRUPTED', `${label}: connection lost after login: ${what}`, { cause: err });
  }
  if ((code && RESET_CODES.has(code)) || /^Connection lost before handshake/i.test(message)) {
    const what = code ? `connection reset (${code})` : 'the server closed the connection';
    return transientError('PROTOCOL', `${label}: ${what} ${phaseWords(phase)}`, err);
  }
  return new SweepError('PROTOCOL', `${label}: SSH protocol error ${phaseWords(phase)}: ${detail}`, {
    cause: err,
  });
}
