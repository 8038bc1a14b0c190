/**
 * Quoting for a POSIX shell (`sh -c`, cron, an SSH exec channel): a word of only safe characters as it is,
 * anything else in single quotes, where the only character to escape is `'` itself (`'\''`).
 * Three lines, so hand-written rather than a dependency (the `shell-quote` package quotes differently per input).
 */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_/.,:@%+=-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
