/** Exit codes, documented in the README. */
export const EXIT = {
  OK: 0,
  /** Some hosts failed, a file could not be read, or an alert fired with --fail-on-alert. */
  FAILED: 1,
  /** Usage or configuration error. */
  USAGE: 2,
  /** Mail could not be sent; the reports are on disk. */
  MAIL_FAILED: 3,
} as const;
