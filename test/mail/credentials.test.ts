import { describe, expect, it } from 'vitest';
import { describeUrl, redact, resolveSmtpConnection, secretForms } from '../../src/mail/credentials.js';
import { isTransientSmtpError } from '../../src/mail/send.js';
import type { MailSettings } from '../../src/mail/types.js';

const base: MailSettings = { from: 'a@example.com', to: ['b@example.com'] };
const PASSWORD = 'hunter2:/@%';

describe('resolveSmtpConnection', () => {
  it('reads host, port and TLS mode from smtp:// and smtps:// URLs, with the usual default ports', () => {
    expect(resolveSmtpConnection({ ...base, url: 'smtp://mail.example.com' }, {})).toMatchObject({
      host: 'mail.example.com',
      port: 587,
      secure: false,
      requireTLS: false,
      ignoreTLS: false,
      tls: { rejectUnauthorized: true },
    });
    expect(resolveSmtpConnection({ ...base, url: 'smtps://mail.example.com' }, {})).toMatchObject({
      port: 465,
      secure: true,
    });
    expect(resolveSmtpConnection({ ...base, url: 'smtp://[::1]:2525?requireTLS=true' }, {})).toMatchObject({
      host: '::1',
      port: 2525,
      requireTLS: true,
    });
  });

  it('lets explicit fields override the URL', () => {
    const c = resolveSmtpConnection(
      {
        ...base,
        url: 'smtp://a.example.com:25',
        host: 'b.example.com',
        port: 2525,
        secure: true,
        ignoreTLS: true,
      },
      {},
    );
    expect(c).toMatchObject({ host: 'b.example.com', port: 2525, secure: true, ignoreTLS: true });
    expect(resolveSmtpConnection({ ...base, host: 'c.example.com' }, {})).toMatchObject({
      port: 587,
      secure: false,
    });
  });

  it('takes credentials from the environment, and from the URL with a warning', () => {
    const env = { AUDITSWEEP_SMTP_USER: 'u', AUDITSWEEP_SMTP_PASSWORD: PASSWORD };
    const fromEnv = resolveSmtpConnection({ ...base, url: 'smtp://m.example.com' }, env);
    expect(fromEnv.auth).toEqual({ user: 'u', pass: PASSWORD });
    expect(fromEnv.warnings).toEqual([]);
    expect(fromEnv.secrets).toContain(PASSWORD);

    const url = `smtp://v:${encodeURIComponent(PASSWORD)}@m.example.com`;
    const fromUrl = resolveSmtpConnection({ ...base, url }, {});
    expect(fromUrl.auth).toEqual({ user: 'v', pass: PASSWORD });
    expect(fromUrl.warnings[0]).toMatch(/may leak through the config file/);

    const both = resolveSmtpConnection({ ...base, url }, env);
    expect(both.auth?.user).toBe('u');
    expect(both.warnings).toHaveLength(2);
  });

  it('rejects bad settings as CONFIG_INVALID without echoing a password', () => {
    const bad = (s: Partial<MailSettings>, env: Record<string, string> = {}) => {
      try {
        resolveSmtpConnection({ ...base, ...s }, env);
      } catch (err) {
        return err as Error & { code: string };
      }
      throw new Error('expected an error');
    };
    const http = bad({ url: `http://u:${PASSWORD}@m.example.com` });
    expect(http.code).toBe('CONFIG_INVALID');
    expect(http.message).toMatch(/is not a URL/);
    expect(bad({ url: 'http://m.example.com' }).message).toMatch(/not an SMTP URL/);
    expect(http.message).not.toContain('hunter2');
    expect(bad({}).message).toMatch(/no SMTP server configured/);
    expect(bad({ host: 'm' }, { AUDITSWEEP_SMTP_USER: 'u' }).message).toMatch(
      /AUDITSWEEP_SMTP_PASSWORD is not/,
    );
    expect(bad({ host: 'm' }, { AUDITSWEEP_SMTP_PASSWORD: 'p' }).message).toMatch(
      /AUDITSWEEP_SMTP_USER is not/,
    );
  });
});

describe('redaction', () => {
  it('scrubs the password in plain, URL-encoded and AUTH PLAIN/LOGIN base64 forms', () => {
    const secrets = secretForms('u', PASSWORD);
    const plain = Buffer.from(`\u0000u\u0000${PASSWORD}`).toString('base64');
    const login = Buffer.from(PASSWORD).toString('base64');
    const text = `a ${PASSWORD} b ${encodeURIComponent(PASSWORD)} c ${plain} d ${login}`;
    expect(redact(text, secrets)).toBe('a *** b *** c *** d ***');
    expect(describeUrl(`smtp://u:${encodeURIComponent(PASSWORD)}@h:25`)).toBe('smtp://u:***@h:25');
    expect(secretForms('u', '')).toEqual([]);
  });
});

describe('which failures are retried', () => {
  const err = (fields: Record<string, unknown>) => Object.assign(new Error('x'), fields);
  it.each([
    [{ code: 'ESOCKET', originalCode: 'ECONNREFUSED' }, true],
    [{ code: 'ECONNECTION' }, true],
    [{ code: 'ETIMEDOUT' }, true],
    [{ code: 'EPROTOCOL', responseCode: 421 }, true],
    [{ code: 'EENVELOPE', responseCode: 452 }, true],
    [{ code: 'EENVELOPE', responseCode: 550 }, false],
    [{ code: 'EMESSAGE', responseCode: 552 }, false],
    [{ code: 'EAUTH', responseCode: 535 }, false],
    [{ code: 'EAUTH', responseCode: 454 }, true],
    [{ code: 'ESOCKET', originalCode: 'DEPTH_ZERO_SELF_SIGNED_CERT' }, false],
    [{ code: 'ESOCKET', originalCode: 'ERR_TLS_CERT_ALTNAME_INVALID' }, false],
    [{ code: 'ETLS' }, false],
    [{ code: 'EDNS', originalCode: 'ENOTFOUND' }, false],
    [{ code: 'EDNS', originalCode: 'EAI_AGAIN' }, true],
  ])('%o → %s', (fields, transient) => {
    expect(isTransientSmtpError(err(fields))).toBe(transient);
  });
});
