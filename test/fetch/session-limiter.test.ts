import { describe, expect, it } from 'vitest';
import { SweepError } from '../../src/errors.js';
import { createConnectLimiter } from '../../src/fetch/connect-limiter.js';

const tick = () => new Promise((r) => setTimeout(r, 5));

describe('connect limiter', () => {
  it('lets at most `concurrency` attempts hold a slot, in arrival order', async () => {
    const limiter = createConnectLimiter(2);
    const order: number[] = [];
    const releases: Array<() => void> = [];
    const pending = [1, 2, 3, 4, 5].map((i) =>
      limiter.acquire().then((release) => {
        order.push(i);
        releases.push(release);
      }),
    );
    await tick();
    expect(order).toEqual([1, 2]);
    expect(limiter.activeCount).toBe(2);
    expect(limiter.pendingCount).toBe(3);
    releases[0]?.();
    releases[0]?.(); // idempotent: does not free a second slot
    await tick();
    expect(order).toEqual([1, 2, 3]);
    expect(limiter.activeCount).toBe(2);
    for (const r of releases.splice(0)) r();
    await tick();
    for (const r of releases.splice(0)) r();
    await tick();
    for (const r of releases.splice(0)) r();
    await Promise.all(pending);
    expect(order).toEqual([1, 2, 3, 4, 5]);
    expect(limiter.activeCount).toBe(0);
  });

  it('gives up waiting on abort without leaking the slot', async () => {
    const limiter = createConnectLimiter(1);
    const release = await limiter.acquire();
    const controller = new AbortController();
    const waiting = limiter.acquire(controller.signal);
    controller.abort();
    await expect(waiting).rejects.toBeInstanceOf(SweepError);
    await expect(waiting).rejects.toMatchObject({ code: 'INTERRUPTED' });
    release();
    // The abandoned waiter's turn comes and goes; the next caller gets the slot.
    const next = await limiter.acquire();
    expect(limiter.activeCount).toBe(1);
    next();
    await tick();
    expect(limiter.activeCount).toBe(0);
  });

  it('rejects a nonsensical limit', () => {
    expect(() => createConnectLimiter(0)).toThrow(SweepError);
    expect(() => createConnectLimiter(1.5)).toThrow(SweepError);
  });
});
