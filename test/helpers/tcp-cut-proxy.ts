/**
 * Test helper: a TCP proxy on loopback that forwards to a real server (a fleet host's sshd) and cuts the
 * connection in the middle of a transfer: once `cutAfterBytes` bytes have gone from the server to the client,
 * it destroys both sockets, as a dropped VPN or a reset firewall state would. Bytes from the client to the
 * server pass untouched. Each connection is cut at the same count.
 */
import net from 'node:net';

export interface CutProxyOptions {
  /** Where connections are forwarded. */
  readonly target: { readonly address: string; readonly port: number };
  /** Server → client bytes let through per connection before both sides are closed. */
  readonly cutAfterBytes: number;
  /** Loopback address to listen on. Default 127.0.0.1. */
  readonly address?: string;
}

export interface CutProxy {
  readonly address: string;
  readonly port: number;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Connections cut at `cutAfterBytes` (the others ended on their own). */
  readonly cuts: number;
  /** Destroys every connection and stops listening. */
  close(): Promise<void>;
}

export async function startCutProxy(options: CutProxyOptions): Promise<CutProxy> {
  const address = options.address ?? '127.0.0.1';
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  let cuts = 0;
  const track = (s: net.Socket) => {
    sockets.add(s);
    s.on('error', () => {}); // the other side's reset is the point of this helper
    s.on('close', () => sockets.delete(s));
  };

  const server = net.createServer((client) => {
    accepted++;
    track(client);
    const upstream = net.connect(options.target.port, options.target.address);
    track(upstream);
    let sent = 0;
    let cut = false;
    const closeBoth = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => {
      if (!cut) client.end();
    });

    // client → server, with backpressure
    client.on('data', (chunk: Buffer) => {
      if (!upstream.write(chunk)) {
        client.pause();
        upstream.once('drain', () => client.resume());
      }
    });
    // server → client, counted; cut once the budget is spent
    upstream.on('data', (chunk: Buffer) => {
      if (cut) return;
      const room = options.cutAfterBytes - sent;
      if (chunk.length < room) {
        sent += chunk.length;
        if (!client.write(chunk)) {
          upstream.pause();
          client.once('drain', () => upstream.resume());
        }
        return;
      }
      cut = true;
      cuts++;
      sent += room;
      upstream.pause();
      // Deliver exactly the budget, then drop both sides without a clean shutdown.
      client.write(chunk.subarray(0, room), closeBoth);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, address, () => resolve());
  });
  const info = server.address();
  if (!info || typeof info === 'string') throw new Error('tcp-cut-proxy: no port');

  return {
    address,
    port: info.port,
    get accepted() {
      return accepted;
    },
    get cuts() {
      return cuts;
    },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
