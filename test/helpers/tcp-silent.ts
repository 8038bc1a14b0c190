/**
 * Test helper: TCP servers on loopback that are not SSH servers. `startSilentServer()` accepts connections and
 * never writes a byte (a hung or firewalled-after-accept sshd); with `greeting` it writes that text instead
 * (an HTTP server on port 22). `unusedPort()` finds a port nothing listens on (connection refused).
 */
import net from 'node:net';

export interface SilentServerOptions {
  /** Loopback address to listen on. Default 127.0.0.1. */
  readonly address?: string;
  /** Written to every connection on accept; the connection then stays open. Default: nothing. */
  readonly greeting?: string | Buffer;
}

export interface SilentServer {
  readonly address: string;
  readonly port: number;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Connections still open (the client has not closed them). */
  readonly open: number;
  /** Resolves once `count` connections are open (or have been opened, when they close quickly). */
  waitForConnections(count: number): Promise<void>;
  /** Resolves once every accepted connection has been closed by the client. */
  waitForAllClosed(timeoutMs?: number): Promise<boolean>;
  /** Destroys every connection and stops listening. */
  close(): Promise<void>;
}

export async function startSilentServer(options: SilentServerOptions = {}): Promise<SilentServer> {
  const address = options.address ?? '127.0.0.1';
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  const waiters: Array<() => void> = [];
  const server = net.createServer((socket) => {
    accepted++;
    sockets.add(socket);
    socket.on('error', () => {});
    // Read and discard what the client sends: an unread socket never sees the client's FIN ('end').
    socket.resume();
    socket.on('close', () => {
      sockets.delete(socket);
      for (const w of waiters.splice(0)) w();
    });
    if (options.greeting !== undefined) socket.write(options.greeting);
    for (const w of waiters.splice(0)) w();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, address, () => resolve());
  });
  const info = server.address();
  if (!info || typeof info === 'string') throw new Error('tcp-silent: no port');

  const until = (done: () => boolean, timeoutMs: number): Promise<boolean> =>
    new Promise((resolve) => {
      const timer = setTimeout(() => resolve(done()), timeoutMs);
      const check = () => {
        if (done()) {
          clearTimeout(timer);
          resolve(true);
        } else {
          waiters.push(check);
        }
      };
      check();
    });

  return {
    address,
    port: info.port,
    get accepted() {
      return accepted;
    },
    get open() {
      return sockets.size;
    },
    async waitForConnections(count: number) {
      await until(() => accepted >= count, 10_000);
    },
    waitForAllClosed(timeoutMs = 5_000) {
      return until(() => sockets.size === 0, timeoutMs);
    },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A loopback port with nothing listening on it (bound by the kernel a moment ago, then released). */
export function unusedPort(address = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, address, () => {
      const a = srv.address();
      srv.close(() => (a && typeof a === 'object' ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}
