/**
 * Lookups in the normalizer's tables, which are plain objects keyed by names read from the log (record types,
 * syscall names). `table[name]` would find Object.prototype's members for `constructor`, `__proto__`,
 * `hasOwnProperty` … and a hostile log can name a record type that way: only the table's own entries count.
 */
export function tableEntry<T>(table: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(table, key) ? table[key] : undefined;
}
