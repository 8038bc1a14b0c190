/** Column sets of the report CSVs other than events.csv (whose columns live with the row type in types.ts). */
import type { ParseIssue } from '../types.js';

/** parse-issues.csv: one row per line that could not be used. */
export const ISSUE_COLUMNS = ['host', 'file', 'line', 'reason', 'detail'] as const;

export function issueRow(host: string, issue: ParseIssue): Record<(typeof ISSUE_COLUMNS)[number], string> {
  return { host, file: issue.file, line: String(issue.line), reason: issue.reason, detail: issue.detail };
}
