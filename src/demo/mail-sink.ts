/**
 * The demo's mail sink: a real SMTP server (smtp-server) on 127.0.0.1 that accepts every message, with no
 * TLS and any (or no) credentials, and saves what it receives byte for byte as an `.eml` file. The one runtime
 * importer of smtp-server.
 */
import { writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { PRIVATE_FILE } from '../private-files.js';

export interface DeliveredMessage {
  /** Where the message was saved. */
  readonly path: string;
  readonly from: string;
  readonly to: readonly string[];
  readonly bytes: number;
}

export interface DemoMailSink {
  readonly host: string;
  readonly port: number;
  /** `smtp://127.0.0.1:PORT`, for the mail settings. */
  readonly url: string;
  readonly delivered: readonly DeliveredMessage[];
  /** Stops listening and closes open connections. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts the sink. Each message is written to `emlPath(n)` (n = 1, 2, …) before the server answers 250, so a
 * sender that got its 250 finds the file on disk.
 */
export async function startDemoMailSink(emlPath: (n: number) => string): Promise<DemoMailSink> {
  const delivered: DeliveredMessage[] = [];
  const server = new SMTPServer({
    // Plain SMTP on loopback: no STARTTLS offered; AUTH is optional and any credentials pass (a user whose
    // environment holds AUDITSWEEP_SMTP_USER still gets the demo mail).
    disabledCommands: ['STARTTLS'],
    authOptional: true,
    allowInsecureAuth: true,
    onAuth(auth, _session, callback) {
      callback(null, { user: auth.username ?? 'demo' });
    },
    logger: false,
    disableReverseLookup: true,
    banner: 'auditsweep demo mail sink (nothing leaves this machine)',
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('error', (err) => callback(err));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks);
        const path = emlPath(delivered.length + 1);
        writeFile(path, raw, { flag: 'wx', mode: PRIVATE_FILE }).then(
          () => {
            const from = session.envelope.mailFrom;
            delivered.push({
              path,
              from: from ? from.address : '',
              to: session.envelope.rcptTo.map((r) => r.address),
              bytes: raw.length,
            });
            callback(null, `saved as ${path}`);
          },
          (err: unknown) =>
            callback(
              Object.assign(new Error(`4.3.0 could not save the message: ${String(err)}`), {
                responseCode: 451,
              }),
            ),
        );
      });
    },
  });
  // Client resets are not the sink's concern; listen errors are caught below.
  server.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.server.address() as AddressInfo;
  let stopped: Promise<void> | undefined;
  return {
    host: '127.0.0.1',
    port,
    url: `smtp://127.0.0.1:${port}`,
    delivered,
    stop() {
      stopped ??= new Promise<void>((resolve) => server.close(() => resolve()));
      return stopped;
    },
  };
}
