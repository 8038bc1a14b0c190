/**
 * A connection killed in the middle of a transfer, as a network cut or a dying server would: one chunk of `stream`
 * is taken, every sshd session process of `host` is killed (the listener stays), and what the stream then does is
 * collected. A transport must end such a stream with an error, never with a clean (short) end.
 */
import type { Readable } from 'node:stream';
import type { Client } from 'ssh2';
import { expect } from 'vitest';
import { type FleetHost, sshdProcesses } from './sshd-fleet.js';

export interface CutTransfer {
  /** What the stream failed with. */
  readonly error: unknown;
  /** Whether it also ended cleanly ('end'). */
  readonly ended: boolean;
  /** Bytes it delivered, before and after the cut. */
  readonly received: number;
}

export async function cutMidTransfer(
  stream: Readable,
  host: FleetHost,
  client: Client,
): Promise<CutTransfer> {
  let received = 0;
  let ended = false;
  stream.on('end', () => {
    ended = true;
  });
  const failed = new Promise<unknown>((resolve) => stream.once('error', resolve));
  // Take one chunk, then stop reading: the transfer is now certainly in the middle.
  await new Promise<void>((resolve) =>
    stream.once('data', (chunk: Buffer) => {
      received += chunk.length;
      stream.pause();
      resolve();
    }),
  );
  const sessions = sshdProcesses(host).filter((p) => p !== host.pid);
  expect(sessions.length).toBeGreaterThan(0);
  for (const pid of sessions) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // a child that died with its parent
    }
  }
  await new Promise<void>((resolve) => client.once('close', () => resolve()));
  stream.on('data', (chunk: Buffer) => {
    received += chunk.length;
  });
  stream.resume();
  const error = await failed;
  return { error, ended, received };
}
