import { afterEach, describe, expect, it, vi } from 'vitest';
import { SweepError } from '../../src/errors.js';
import { classifyError, isTransientError } from '../../src/fetch/classify-error.js';
import { backoffDelay, withRetry } from '../../src/fetch/retry.js';

const fast = { baseDelayMs: 1, maxDelayMs: 4, random: () => 0.5 };

function failing(errors: unknown[]): { fn: (attempt: number) => Promise<string>; calls: number[] } {
  const calls: number[] = [];
  return {
    calls,
    fn: async (attempt) => {
      calls.push(attempt);
      const err = errors[attempt - 1];
      if (err === undefined) return `ok on ${attempt}`;
      throw err;
    },
  };
}

describe('withRetry', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('retries a refused connection until it succeeds', async () => {
    const refused = new SweepError('REFUSED', 'web-01: connection refused');
    const { fn, calls } = failing([refused, refused]);
    await expect(withRetry(fn, { attempts: 3, ...fast })).resolves.toBe('ok on 3');
    expect(calls).toEqual([1, 2, 3]);
  });

  it('gives up after the configured attempts with the last error', async () => {
    const timeouts = [1, 2, 3, 4].map((i) => new SweepError('TIMEOUT', `timeout ${i}`));
    const { fn, calls } = failing(timeouts);
    await expect(withRetry(fn, { attempts: 3, ...fast })).rejects.toBe(timeouts[2]);
    expect(calls).toEqual([1, 2, 3]);
  });

  it.each([
    'AUTH_FAILED',
    'HOST_KEY_UNKNOWN',
    'HOST_KEY_CHANGED',
    'DNS',
    'INTERRUPTED',
    'PERMISSION_DENIED',
  ] as const)('never retries %s', async (code) => {
    const err = new SweepError(code, code);
    const { fn, calls } = failing([err]);
    await expect(withRetry(fn, { attempts: 5, ...fast })).rejects.toBe(err);
    expect(calls).toEqual([1]);
  });

  it('retries a connection reset before login, but not a protocol error', async () => {
    const reset = classifyError(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }), {
      label: 'web-01',
      phase: 'handshake',
    });
    expect(reset.code).toBe('PROTOCOL');
    expect(isTransientError(reset)).toBe(true);
    const { fn, calls } = failing([reset]);
    await expect(withRetry(fn, { attempts: 2, ...fast })).resolves.toBe('ok on 2');
    expect(calls).toEqual([1, 2]);

    const garbage = classifyError(new Error('Invalid identification string'), {
      label: 'x',
      phase: 'handshake',
    });
    expect(garbage.code).toBe('PROTOCOL');
    const second = failing([garbage]);
    await expect(withRetry(second.fn, { attempts: 3, ...fast })).rejects.toBe(garbage);
    expect(second.calls).toEqual([1]);
  });

  it('does not retry plain errors unless told to', async () => {
    const plain = new Error('boom');
    const a = failing([plain]);
    await expect(withRetry(a.fn, { attempts: 3, ...fast })).rejects.toBe(plain);
    expect(a.calls).toEqual([1]);
    const b = failing([plain]);
    await expect(withRetry(b.fn, { attempts: 3, ...fast, retryable: () => true })).resolves.toBe('ok on 2');
  });

  it('waits with exponential backoff capped at maxDelayMs (fake timers)', async () => {
    vi.useFakeTimers();
    const refused = new SweepError('REFUSED', 'refused');
    const { fn, calls } = failing([refused, refused, refused, refused]);
    const delays: number[] = [];
    const result = withRetry(fn, {
      attempts: 5,
      baseDelayMs: 100,
      maxDelayMs: 300,
      random: () => 1,
      onRetry: (info) => delays.push(info.delayMs),
    });
    await vi.advanceTimersByTimeAsync(0);
    expect(calls).toEqual([1]);
    await vi.advanceTimersByTimeAsync(99);
    expect(calls).toEqual([1]);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toEqual([1, 2]);
    await vi.advanceTimersByTimeAsync(200);
    expect(calls).toEqual([1, 2, 3]);
    await vi.advanceTimersByTimeAsync(300);
    await vi.advanceTimersByTimeAsync(300);
    await expect(result).resolves.toBe('ok on 5');
    expect(delays).toEqual([100, 200, 300, 300]);
  });

  it('adds jitter: half the delay is fixed, half random', () => {
    const opts = { baseDelayMs: 1000, maxDelayMs: 60_000 };
    expect(backoffDelay(1, opts, () => 0)).toBe(500);
    expect(backoffDelay(1, opts, () => 0.99)).toBe(995);
    expect(backoffDelay(3, opts, () => 0)).toBe(2000);
    expect(backoffDelay(20, opts, () => 0)).toBe(30_000);
    for (let i = 0; i < 100; i++) {
      const d = backoffDelay(2, opts);
      expect(d).toBeGreaterThanOrEqual(1000);
      expect(d).toBeLessThanOrEqual(2000);
    }
  });

  it('stops waiting when the signal aborts, as INTERRUPTED carrying the last failure', async () => {
    const refused = new SweepError('REFUSED', 'web-01: connection refused');
    const { fn, calls } = failing([refused, refused]);
    const controller = new AbortController();
    const started = Date.now();
    const result = withRetry(fn, {
      attempts: 3,
      baseDelayMs: 10_000,
      maxDelayMs: 10_000,
      signal: controller.signal,
      onRetry: () => setTimeout(() => controller.abort(), 20),
    });
    const err = await result.catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(err).toBeInstanceOf(SweepError);
    expect((err as SweepError).code).toBe('INTERRUPTED');
    expect((err as SweepError).message).toContain('connection refused');
    expect((err as SweepError).cause).toBe(refused);
    expect(calls).toEqual([1]);
  });

  it('does not start when the signal has already aborted', async () => {
    const { fn, calls } = failing([]);
    await expect(withRetry(fn, { attempts: 3, ...fast, signal: AbortSignal.abort() })).rejects.toMatchObject({
      code: 'INTERRUPTED',
    });
    expect(calls).toEqual([]);
  });
});
