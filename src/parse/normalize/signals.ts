/** Linux signal numbers below 32 → names (auparse signaltab.h), for ANOM_ABEND `sig=` and kill()-family args. */
// Index 0 is not a signal.
const SIGNALS: readonly string[] = [
  '',
  'SIGHUP',
  'SIGINT',
  'SIGQUIT',
  'SIGILL',
  'SIGTRAP',
  'SIGABRT',
  'SIGBUS',
  'SIGFPE',
  'SIGKILL',
  'SIGUSR1',
  'SIGSEGV',
  'SIGUSR2',
  'SIGPIPE',
  'SIGALRM',
  'SIGTERM',
  'SIGSTKFLT',
  'SIGCHLD',
  'SIGCONT',
  'SIGSTOP',
  'SIGTSTP',
  'SIGTTIN',
  'SIGTTOU',
  'SIGURG',
  'SIGXCPU',
  'SIGXFSZ',
  'SIGVTALRM',
  'SIGPROF',
  'SIGWINCH',
  'SIGIO',
  'SIGPWR',
  'SIGSYS',
];

/** A signal number as text (`11`, or hex with `base` 16) → `SIGSEGV`, or `unknown-signal(…)` like auparse. */
export function signalName(value: string, base: 10 | 16): string {
  const n = Number.parseInt(value, base);
  const name = Number.isInteger(n) && n >= 0 && n < 32 ? SIGNALS[n] : undefined;
  return name ? name : `unknown-signal(${base === 16 ? '0x' : ''}${value})`;
}
