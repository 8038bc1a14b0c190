/**
 * The row stage on worker threads (parse/row-workers.ts) must write what the single-threaded writer writes, byte for
 * byte. The threads themselves run only from the compiled code (test/cli covers them); here the batch a worker gets
 * is made and turned into CSV in-process, which is all of a worker's work.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAccounts } from '../../src/parse/interpret/accounts.js';
import { Reassembler } from '../../src/parse/reassemble.js';
import { batchCsv } from '../../src/parse/row-worker.js';
import { pack, rowsCsv } from '../../src/parse/row-workers.js';
import { tokenizeLine } from '../../src/parse/tokenize.js';
import type { AuditEvent } from '../../src/types.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'corpus');
const ACCOUNTS = parseAccounts(
  readFileSync(join(FIXTURES, 'accounts', 'passwd'), 'utf8'),
  readFileSync(join(FIXTURES, 'accounts', 'group'), 'utf8'),
).maps;

function eventsOf(text: string, file: string): AuditEvent[] {
  const events: AuditEvent[] = [];
  const r = new Reassembler({ event: (e) => events.push(e), issue: () => {} });
  text.split('\n').forEach((line, i) => {
    const { record } = tokenizeLine(line, file, i + 1);
    if (record !== undefined) r.push(record);
  });
  r.flush();
  return events;
}

describe('row worker batches', () => {
  it.each(['enriched', 'raw', 'node-user', 'node-hostname'])(
    'give the same CSV as the main thread for every event of the %s corpus',
    (variant) => {
      const ctx = { host: 'h', accounts: variant.startsWith('raw') ? ACCOUNTS : undefined };
      for (const log of ['audit.log.2', 'audit.log.1', 'audit.log']) {
        const file = join(FIXTURES, variant, log);
        const events = eventsOf(readFileSync(file, 'utf8'), file);
        for (let i = 0; i < events.length; i += 97) {
          const slice = events.slice(i, i + 97);
          const batch = pack(i, slice);
          expect(batch).toBeDefined();
          expect(batchCsv(batch!, ctx)).toBe(rowsCsv(slice, ctx));
        }
      }
    },
  );

  it('carries lines whose fields are not all slices of the line (AVC preamble, a value cut short, CRLF)', () => {
    const lines = [
      'type=AVC msg=audit(1700000000.000:1): avc:  denied  { read write } for  pid=1 comm="x" scontext=a tcontext=b tclass=file permissive=0',
      'type=ADD_GROUP msg=audit(1700000000.001:2): pid=7511 uid=0 auid=4294967295 ses=4294967295 msg=\'op=adding  group to /etc/group id=4100 exe="/usr/sbin/groupadd" hostname=? addr=? terminal=? res=success\'',
      'type=SYSCALL msg=audit(1700000000.002:3): arch=c000003e syscall=59 success=yes exit=0 pid=8 auid=0 uid=0 comm="id" exe="/usr/bin/id\r',
      'type=USER_CMD msg=audit(1700000000.003:4): pid=7804 uid=4001 auid=4001 ses=541 msg=\'cwd="/home/alice" cmd=6964 exe="/usr/bin/sudo" terminal=pts/1 res=success\'\u001dUID="alice" AUID="alice"\r',
    ];
    const events = eventsOf(lines.join('\n'), 'audit.log');
    expect(events).toHaveLength(4);
    const batch = pack(0, events)!;
    const ctx = { host: 'h' };
    expect(batchCsv(batch, ctx)).toBe(rowsCsv(events, ctx));
  });
});
