/**
 * "Did you mean" suggestions for unknown keys, groups, hosts and tags.
 * Names are compared case-insensitively with `_` and `-` ignored, so `identity_file` finds `identityFile`.
 */

/** Edit distance with adjacent transpositions (optimal string alignment): `wbe` is one edit from `web`. */
export function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

function fold(name: string): string {
  return name.toLowerCase().replace(/[-_]/g, '');
}

/** The closest candidates to `name` (equally close ones, at most `limit`), or none when nothing is close. */
export function closest(name: string, candidates: Iterable<string>, limit = 3): string[] {
  const target = fold(name);
  const budget = Math.max(1, Math.floor(target.length / 3));
  const scored: Array<{ candidate: string; distance: number }> = [];
  for (const candidate of new Set(candidates)) {
    const distance = editDistance(target, fold(candidate));
    if (distance <= budget) scored.push({ candidate, distance });
  }
  scored.sort((x, y) => x.distance - y.distance || x.candidate.localeCompare(y.candidate));
  // Only the best: when one candidate is a single edit away, others two edits away are noise.
  const best = scored[0]?.distance;
  return scored
    .filter((s) => s.distance === best)
    .slice(0, limit)
    .map((s) => s.candidate);
}

/** `did you mean "web"?` / `did you mean "web" or "web2"?`, or '' when nothing is close. */
export function didYouMean(name: string, candidates: Iterable<string>): string {
  const found = closest(name, candidates);
  if (found.length === 0) return '';
  return `did you mean ${found.map((c) => `"${c}"`).join(' or ')}?`;
}
