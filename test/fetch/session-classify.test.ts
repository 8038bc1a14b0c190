import { describe, expect, it } from 'vitest';
import { SweepError } from '../../src/errors.js';
import { classifyError, isTransientError, oneLine } from '../../src/fetch/classify-error.js';

const sysErr = (code: string, message = `connect ${code} 10.0.0.5:22`) =>
  Object.assign(new Error(message), { code, level: 'client-socket' });

describe('classifyError', () => {
  const ctx = { label: 'web-01 (10.0.0.5:22)', phase: 'connect' as const };

  it.each([
    ['ENOTFOUND', 'DNS'],
    ['EAI_AGAIN', 'DNS'],
    ['ECONNREFUSED', 'REFUSED'],
    ['ETIMEDOUT', 'TIMEOUT'],
    ['EHOSTUNREACH', 'TIMEOUT'],
    ['ENETUNREACH', 'TIMEOUT'],
  ])('maps %s to %s with a one-line message naming the host', (code, expected) => {
    const err = sysErr(code);
    const classified = classifyError(err, ctx);
    expect(classified.code).toBe(expected);
    expect(classified.message).toMatch(/^web-01 \(10\.0\.0\.5:22\): /);
    expect(classified.message).not.toContain('\n');
    expect(classified.cause).toBe(err);
  });

  it('maps ssh2 timeouts to TIMEOUT, saying which phase', () => {
    const err = Object.assign(new Error('Timed out while waiting for handshake'), {
      level: 'client-timeout',
    });
    const c = classifyError(err, { ...ctx, phase: 'handshake', timeoutMs: 2500 });
    expect(c.code).toBe('TIMEOUT');
    expect(c.message).toBe('web-01 (10.0.0.5:22): connected, but no SSH handshake within 2.5 s');
  });

  it('maps a failed login to AUTH_FAILED', () => {
    const err = Object.assign(new Error('All configured authentication methods failed'), {
      level: 'client-authentication',
    });
    expect(classifyError(err, { ...ctx, phase: 'auth' }).code).toBe('AUTH_FAILED');
    expect(classifyError(new Error('Too many authentication failures'), { ...ctx, phase: 'auth' }).code).toBe(
      'AUTH_FAILED',
    );
  });

  it('maps resets before login to a retryable PROTOCOL, and after login to INTERRUPTED', () => {
    const before = classifyError(sysErr('ECONNRESET', 'read ECONNRESET'), { ...ctx, phase: 'handshake' });
    expect(before.code).toBe('PROTOCOL');
    expect(isTransientError(before)).toBe(true);
    const lost = classifyError(new Error('Connection lost before handshake'), { ...ctx, phase: 'handshake' });
    expect(lost.code).toBe('PROTOCOL');
    expect(isTransientError(lost)).toBe(true);
    const after = classifyError(sysErr('ECONNRESET', 'read ECONNRESET'), { ...ctx, phase: 'ready' });
    expect(after.code).toBe('INTERRUPTED');
    expect(isTransientError(after)).toBe(false);
    const keepalive = classifyError(
      Object.assign(new Error('Keepalive timeout'), { level: 'client-timeout' }),
      {
        ...ctx,
        phase: 'ready',
      },
    );
    expect(keepalive.code).toBe('INTERRUPTED');
  });

  it('maps aborts to INTERRUPTED and passes SweepErrors through', () => {
    const abort = Object.assign(new Error('This operation was aborted'), { name: 'AbortError' });
    expect(classifyError(abort, ctx).code).toBe('INTERRUPTED');
    const mine = new SweepError('HOST_KEY_CHANGED', 'x');
    expect(classifyError(mine, ctx)).toBe(mine);
  });

  it('keeps messages to one printable line', () => {
    const c = classifyError(new Error(`bad\nthing\u0007 ${'x'.repeat(500)}`), { ...ctx, phase: 'handshake' });
    expect(c.code).toBe('PROTOCOL');
    expect(c.message).not.toContain('\n');
    expect(c.message).not.toContain('\u0007');
    expect(c.message.length).toBeLessThan(400);
    expect(oneLine('a\r\nb')).toBe('a b');
  });

  it('leaves no terminal control in a message a server wrote: ESC, CSI, C1, bidi overrides', () => {
    const hostile = 'Permission denied\u001b]0;pwned\u0007\u001b[2J\u009b31m red \u202eevil\u202c end';
    const line = oneLine(hostile);
    expect(line).toBe('Permission denied ]0;pwned [2J 31m red  evil  end');
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what must be absent
    expect(line).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
  });
});
