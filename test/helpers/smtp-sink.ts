/**
 * Test helper: a REAL SMTP server (the `smtp-server` package) on loopback that keeps what it receives.
 * Options cover what the mail tests need: AUTH required (PLAIN/LOGIN), STARTTLS or TLS from the first byte with a
 * given certificate, a SIZE limit, recipient rejection, and failing the first connections with 421.
 * For a refused connection, use `unusedPort()` from tcp-silent.ts.
 */
import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import type { TestCert } from './smtp-cert.js';

export interface SmtpSinkOptions {
  /** Require AUTH with these credentials. */
  readonly auth?: {
    readonly user: string;
    readonly pass: string;
    readonly methods?: readonly ('PLAIN' | 'LOGIN')[];
  };
  /** Offer STARTTLS with this certificate (default: STARTTLS is not offered). */
  readonly starttls?: TestCert;
  /** TLS from the first byte (smtps) with this certificate. */
  readonly implicitTls?: TestCert;
  /** SIZE limit in bytes: larger messages get `552 5.3.4`. */
  readonly size?: number;
  /** Reply text for a refused recipient, e.g. `5.1.1 <x@y>: recipient rejected`; undefined accepts it. */
  readonly rejectRecipient?: (address: string) => { code: number; message: string } | undefined;
  /** The first N connections are greeted with `421 4.3.2 try again later` and closed. */
  readonly failFirstConnections?: number;
}

export interface ReceivedMessage {
  readonly raw: Buffer;
  readonly from: string;
  readonly to: readonly string[];
  /** Authenticated user, if any. */
  readonly user: string | undefined;
  /** Whether the session was encrypted (STARTTLS or implicit TLS). */
  readonly secure: boolean;
}

export interface SmtpSink {
  readonly host: string;
  readonly port: number;
  readonly messages: readonly ReceivedMessage[];
  /** Connections accepted so far (each client attempt is one). */
  readonly connections: number;
  /** AUTH attempts, successful or not. */
  readonly authAttempts: readonly { user: string; method: string; ok: boolean }[];
  stop(): Promise<void>;
}

function smtpError(code: number, message: string): Error {
  return Object.assign(new Error(message), { responseCode: code });
}

export async function startSmtpSink(options: SmtpSinkOptions = {}): Promise<SmtpSink> {
  const messages: ReceivedMessage[] = [];
  const authAttempts: { user: string; method: string; ok: boolean }[] = [];
  let connections = 0;
  const tlsCert = options.implicitTls ?? options.starttls;

  const serverOptions: SMTPServerOptions = {
    secure: options.implicitTls !== undefined,
    ...(tlsCert ? { key: tlsCert.key, cert: tlsCert.cert } : {}),
    disabledCommands: [
      ...(options.starttls || options.implicitTls ? [] : ['STARTTLS']),
      ...(options.auth ? [] : ['AUTH']),
    ],
    authOptional: options.auth === undefined,
    authMethods: [...(options.auth?.methods ?? ['PLAIN', 'LOGIN'])],
    // AUTH without TLS is allowed only when the test offers no TLS at all (the plain-text AUTH test).
    allowInsecureAuth: !tlsCert,
    ...(options.size !== undefined ? { size: options.size } : {}),
    logger: false,
    disableReverseLookup: true,
    onConnect(_session, callback) {
      connections++;
      if (connections <= (options.failFirstConnections ?? 0)) {
        callback(smtpError(421, '4.3.2 try again later'));
        return;
      }
      callback();
    },
    onAuth(auth, _session, callback) {
      const ok =
        options.auth !== undefined &&
        auth.username === options.auth.user &&
        auth.password === options.auth.pass;
      authAttempts.push({ user: auth.username ?? '', method: auth.method, ok });
      if (!ok) {
        callback(smtpError(535, '5.7.8 Authentication credentials invalid'));
        return;
      }
      callback(null, { user: auth.username });
    },
    onRcptTo(address, _session, callback) {
      const refusal = options.rejectRecipient?.(address.address);
      if (refusal) {
        callback(smtpError(refusal.code, refusal.message));
        return;
      }
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        if (stream.sizeExceeded) {
          callback(smtpError(552, '5.3.4 Message exceeds fixed maximum message size'));
          return;
        }
        const mailFrom = session.envelope.mailFrom;
        messages.push({
          raw: Buffer.concat(chunks),
          from: mailFrom ? mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          user: typeof session.user === 'string' ? session.user : undefined,
          secure: session.secure,
        });
        callback(null, 'queued as test');
      });
    },
  };

  const server = new SMTPServer(serverOptions);
  server.on('error', () => {
    // Client resets during the failure tests are expected.
  });
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.server.once('error', onError);
    server.listen(0, '127.0.0.1', () => {
      server.server.off('error', onError);
      resolve();
    });
  });
  const port = (server.server.address() as AddressInfo).port;

  return {
    host: '127.0.0.1',
    port,
    messages,
    get connections() {
      return connections;
    },
    authAttempts,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
