/**
 * A YAML inventory file parsed with positions, so every issue can name its line. Shared by the native and the
 * Ansible YAML loaders. Ansible's `!vault` values become `VAULT_VALUE` (never decrypted, never stored) and
 * `!unsafe` values plain strings.
 */
import {
  type Document,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  parseDocument,
  visit,
} from 'yaml';
import type { InventoryIssue } from './types.js';

/** What a `!vault`-encrypted value turns into. */
export const VAULT_VALUE: unique symbol = Symbol('ansible-vault');

export type YamlPath = ReadonlyArray<string | number>;

export interface YamlSource {
  readonly doc: Document;
  /** The plain JS value of the document. */
  readonly data: unknown;
  /** Line (1-based) of the deepest node along `path`; of its key when the last step is a mapping key. */
  lineOf(path: YamlPath): number | undefined;
  /** Every mapping key in the document with its path and line, in document order. */
  keys(): Array<{ path: Array<string | number>; key: string; line: number | undefined }>;
}

/** Parses YAML text; errors name the file and line (duplicate keys are errors, as in Ansible ≥ 2.x with YAML 1.2). */
export function parseYamlSource(
  text: string,
  file: string,
): { source?: YamlSource; errors: InventoryIssue[]; warnings: InventoryIssue[] } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, {
    lineCounter,
    uniqueKeys: true,
    customTags: [
      { tag: '!vault', resolve: () => VAULT_VALUE },
      { tag: '!unsafe', resolve: (value: string) => value },
    ],
  });
  const toIssue = (e: { message: string; linePos?: [{ line: number }, ...unknown[]] }): InventoryIssue => ({
    file,
    ...(e.linePos && { line: e.linePos[0].line }),
    message: e.message.split('\n')[0]!,
    fix: 'correct the YAML syntax at that line (indentation, a missing ":" or quote, a repeated key)',
  });
  const lineAtOffset = (offset: number | undefined): number | undefined =>
    offset === undefined ? undefined : lineCounter.linePos(offset).line;

  // yaml places DUPLICATE_KEY at the node before the repeat; name the repeated key and both of its lines instead.
  const duplicates = doc.errors.some((e) => e.code === 'DUPLICATE_KEY')
    ? duplicateKeys(doc, lineAtOffset, file)
    : [];
  const errors = [
    ...(duplicates.length > 0 ? duplicates : []),
    ...doc.errors.filter((e) => duplicates.length === 0 || e.code !== 'DUPLICATE_KEY').map(toIssue),
  ];
  const warnings = doc.warnings.map(toIssue);
  if (errors.length > 0) return { errors, warnings };

  const lineOf = (path: YamlPath): number | undefined => {
    let node: unknown = doc.contents;
    let line = lineAtOffset((node as Node | null)?.range?.[0]);
    for (const step of path) {
      if (isMap(node)) {
        const pair = node.items.find((p) => isPair(p) && keyText(p.key) === String(step));
        if (!pair) break;
        line = lineAtOffset((pair.key as Node | null)?.range?.[0]) ?? line;
        node = pair.value;
      } else if (isSeq(node) && typeof step === 'number') {
        node = node.items[step];
        line = lineAtOffset((node as Node | null)?.range?.[0]) ?? line;
      } else {
        break;
      }
    }
    return line;
  };

  const keys = (): ReturnType<YamlSource['keys']> => {
    const found: ReturnType<YamlSource['keys']> = [];
    visit(doc, {
      Pair(_, pair, path) {
        const key = keyText(pair.key);
        if (key === undefined) return;
        const steps: Array<string | number> = [];
        for (let i = 0; i < path.length; i++) {
          const item = path[i];
          if (isPair(item)) {
            const k = keyText(item.key);
            if (k !== undefined) steps.push(k);
          } else if (isSeq(item)) {
            const next = path[i + 1] ?? pair;
            steps.push(item.items.indexOf(next as never));
          }
        }
        found.push({ path: [...steps, key], key, line: lineAtOffset((pair.key as Node | null)?.range?.[0]) });
      },
    });
    return found;
  };

  return { source: { doc, data: doc.toJS({ maxAliasCount: 1000 }), lineOf, keys }, errors, warnings };
}

function duplicateKeys(
  doc: Document,
  lineAtOffset: (offset: number | undefined) => number | undefined,
  file: string,
): InventoryIssue[] {
  const issues: InventoryIssue[] = [];
  visit(doc, {
    Map(_, map) {
      const seen = new Map<string, number | undefined>();
      for (const pair of map.items) {
        const key = keyText(pair.key);
        if (key === undefined) continue;
        const line = lineAtOffset((pair.key as Node | null)?.range?.[0]);
        if (seen.has(key)) {
          const first = seen.get(key);
          issues.push({
            file,
            ...(line !== undefined && { line }),
            key,
            message: `\`${key}\` appears twice in the same mapping${first === undefined ? '' : ` (first at line ${first})`}`,
            fix: 'keep one of them (merge their contents)',
          });
        } else {
          seen.set(key, line);
        }
      }
    },
  });
  return issues;
}

function keyText(key: unknown): string | undefined {
  if (isScalar(key)) return key.value === null ? '' : String(key.value);
  return typeof key === 'string' ? key : undefined;
}
