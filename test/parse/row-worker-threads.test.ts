/**
 * The row stage with a real worker thread (the compiled dist/, which `npm test` builds first: a worker runs only
 * from compiled code). The owning thread of a sweep tokenizes a whole SFTP read (hundreds of events) in one go;
 * the worker's results must be taken while it is busy, not only when its event loop turns, or it ends up doing
 * most batches itself while the worker idles.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import type * as ReassembleModule from '../../src/parse/reassemble.js';
import type * as RowWorkerModule from '../../src/parse/row-worker.js';
import type * as RowWorkersModule from '../../src/parse/row-workers.js';
import type * as TokenizeModule from '../../src/parse/tokenize.js';
import type { AuditEvent } from '../../src/types.js';

const ROOT = join(import.meta.dirname, '..', '..');
const FIXTURES = join(ROOT, 'test', 'fixtures', 'corpus');
const dist = async <T>(module: string): Promise<T> =>
  (await import(pathToFileURL(join(ROOT, 'dist', 'parse', module)).href)) as T;

describe('row workers on threads', () => {
  it('take a busy thread’s batches and deliver every row in order, byte for byte', async () => {
    const { RowWorkers } = await dist<typeof RowWorkersModule>('row-workers.js');
    const { batchResult } = await dist<typeof RowWorkerModule>('row-worker.js');
    const { Reassembler } = await dist<typeof ReassembleModule>('reassemble.js');
    const { tokenizeLine } = await dist<typeof TokenizeModule>('tokenize.js');

    const events: AuditEvent[] = [];
    const reassembler = new Reassembler({ event: (e) => events.push(e), issue: () => {} });
    for (const variant of ['enriched', 'node-user']) {
      const file = join(FIXTURES, variant, 'audit.log');
      readFileSync(file, 'utf8')
        .split('\n')
        .forEach((line, i) => {
          const { record } = tokenizeLine(line, file, i + 1);
          if (record !== undefined) reassembler.push(record);
        });
    }
    reassembler.flush();
    expect(events.length).toBeGreaterThan(500);

    const stage = new RowWorkers({ workers: 1 });
    const csv: string[] = [];
    let busy = true;
    let deliveredWhileBusy = 0;
    const lane = stage.lane('web-01', (result) => {
      csv.push(typeof result.csv === 'string' ? result.csv : Buffer.from(result.csv).toString('utf8'));
      if (busy) deliveredWhileBusy++;
    });
    // One synchronous stretch, as a large chunk of input is: the event loop does not turn until it ends. Only the
    // worker can finish the first batches (it holds them), so a delivery meanwhile means its results were taken.
    const fed: AuditEvent[] = [];
    for (let round = 0; round < 100 && deliveredWhileBusy === 0; round++) {
      for (const event of events) {
        lane.add(event);
        fed.push(event);
      }
    }
    busy = false;
    await lane.end();
    await stage.close();

    expect(deliveredWhileBusy).toBeGreaterThan(0);
    expect(csv.join('')).toBe(batchResult(fed, { host: 'web-01' }).csv);
  });
});
