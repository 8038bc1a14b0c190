/**
 * Test helper: a self-signed certificate for `localhost` and 127.0.0.1, made with the real `openssl` at test time
 * (nothing secret is checked in). Fails loudly when openssl is missing.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface TestCert {
  /** PEM private key. */
  readonly key: string;
  /** PEM certificate; also the CA to trust, being self-signed. */
  readonly cert: string;
}

function requireOpenssl(): void {
  try {
    execFileSync('openssl', ['version'], { stdio: 'pipe' });
  } catch (err) {
    throw new Error(
      'openssl is needed to make the test certificate for the STARTTLS/SMTPS tests and was not found: apt-get install -y openssl',
      { cause: err },
    );
  }
}

/** A fresh P-256 key and a one-day certificate with SAN DNS:localhost, IP:127.0.0.1. */
export function makeSelfSignedCert(): TestCert {
  requireOpenssl();
  const dir = mkdtempSync(path.join(tmpdir(), 'auditsweep-cert-'));
  try {
    const keyFile = path.join(dir, 'key.pem');
    const certFile = path.join(dir, 'cert.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        keyFile,
        '-out',
        certFile,
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=DNS:localhost,IP:127.0.0.1',
      ],
      { stdio: 'pipe' },
    );
    return { key: readFileSync(keyFile, 'utf8'), cert: readFileSync(certFile, 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
