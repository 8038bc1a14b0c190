/**
 * Ansible host ranges: `web[01:20]`, `db-[a:f]`, `node[1:9:2]`, several per name (`r[1:2]-n[1:3]`).
 * Numeric bounds with a leading zero keep their width (`[01:20]` → `01`…`20`); alphabetic bounds are single
 * letters of one case. An empty start means 0 (`[:3]`). Same rules as ansible's `expand_hostname_range`,
 * except that a step also applies to letters.
 */

/** Expansions larger than this are refused: almost certainly a typo (`[1:100000]`). */
export const MAX_RANGE_HOSTS = 10_000;

export type RangeResult = { ok: true; names: string[] } | { ok: false; error: string; fix: string };

const RANGE = /\[([^\]]*)\]/;

/** True when the name holds a `[start:end]` range to expand. */
export function hasHostRange(name: string): boolean {
  return /\[[^\]]*:[^\]]*\]/.test(name);
}

/** Expands every range in `pattern`, left to right; a name without a range comes back alone. */
export function expandHostRange(pattern: string): RangeResult {
  const match = RANGE.exec(pattern);
  if (!match || !match[1]!.includes(':')) return { ok: true, names: [pattern] };
  const head = pattern.slice(0, match.index);
  const tail = pattern.slice(match.index + match[0].length);
  const values = expandOne(match[1]!);
  if (!values.ok) return values;
  const rest = expandHostRange(tail);
  if (!rest.ok) return rest;
  if (values.names.length * rest.names.length > MAX_RANGE_HOSTS) {
    return {
      ok: false,
      error: `host range "${pattern}" expands to more than ${MAX_RANGE_HOSTS} hosts`,
      fix: 'narrow the range or split the inventory',
    };
  }
  const names: string[] = [];
  for (const value of values.names) for (const suffix of rest.names) names.push(`${head}${value}${suffix}`);
  return { ok: true, names };
}

function expandOne(body: string): RangeResult {
  const parts = body.split(':');
  const bad = (error: string): RangeResult => ({
    ok: false,
    error: `host range [${body}]: ${error}`,
    fix: 'write it as [start:end] or [start:end:step], e.g. web[01:20], db-[a:f], node[1:9:2]',
  });
  if (parts.length > 3) return bad('too many ":"');
  const begin = parts[0]!.trim() === '' ? '0' : parts[0]!.trim();
  const end = parts[1]!.trim();
  const stepText = parts[2]?.trim() ?? '1';
  if (end === '') return bad('the end is missing');
  if (!/^\d+$/.test(stepText) || Number(stepText) < 1)
    return bad(`step "${stepText}" is not a positive number`);
  const step = Number(stepText);

  if (/^[a-zA-Z]$/.test(begin) && /^[a-zA-Z]$/.test(end)) {
    const letters = /[a-z]/.test(begin) ? 'abcdefghijklmnopqrstuvwxyz' : 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
    const from = letters.indexOf(begin);
    const to = letters.indexOf(end);
    if (from < 0 || to < 0) return bad('letters must be of the same case');
    if (from > to) return bad(`"${begin}" comes after "${end}"`);
    const names: string[] = [];
    for (let i = from; i <= to; i += step) names.push(letters[i]!);
    return { ok: true, names };
  }
  if (!/^\d+$/.test(begin) || !/^\d+$/.test(end))
    return bad('bounds must both be numbers or both be single letters');
  const padded = begin.length > 1 && begin.startsWith('0');
  if (padded && begin.length !== end.length) {
    return bad(`zero-padded bounds must have the same width ("${begin}" and "${end}")`);
  }
  const from = Number(begin);
  const to = Number(end);
  if (from > to) return bad(`${begin} is greater than ${end}`);
  if ((to - from) / step + 1 > MAX_RANGE_HOSTS) return bad(`more than ${MAX_RANGE_HOSTS} values`);
  const names: string[] = [];
  for (let i = from; i <= to; i += step)
    names.push(padded ? String(i).padStart(begin.length, '0') : String(i));
  return { ok: true, names };
}
