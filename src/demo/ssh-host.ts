/**
 * One demo host: an in-process SSH server (ssh2's `Server`) on 127.0.0.1 with its own ed25519 host key, that
 * lets in one client key and serves a read-only SFTP view of a virtual `/var/log/audit/` folder mapped to
 * sample files on disk. The demo's only importer of ssh2.
 *
 * The SFTP side answers what auditsweep's client sends (src/fetch/sftp-transport.ts): REALPATH, STAT, LSTAT,
 * FSTAT, OPENDIR/READDIR (a long name and attributes per entry), OPEN for reading, many READs in flight (each
 * answered on its own, at most {@link MAX_READ} bytes, EOF status past the end) and CLOSE. Writes, and every
 * other request, are refused; exec, shell and port forwarding are refused. Nothing on disk is ever written.
 */
import { timingSafeEqual } from 'node:crypto';
import { type FileHandle, open, stat } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import ssh2, { type Connection, type ParsedKey, type SFTPWrapper } from 'ssh2';

const { Server, utils } = ssh2;
const { STATUS_CODE, OPEN_MODE } = utils.sftp;

/** The largest READ answer: below the 256 KiB packets ssh2's client accepts, above the ~31 KiB it asks for. */
export const MAX_READ = 128 * 1024;
/** Open handles per SFTP session; more is a misbehaving client. */
const MAX_HANDLES = 64;

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;

/** A file the host serves: its name in the virtual folder and where its bytes are on disk. */
export interface ServedFile {
  readonly name: string;
  readonly source: string;
  /** The modification time to report, epoch ms (default: the source file's). */
  readonly mtimeMs?: number | undefined;
}

export interface DemoSshHostOptions {
  /** The virtual folder, absolute (default `/var/log/audit`). */
  readonly dir?: string;
  readonly files: readonly ServedFile[];
  /** The one public key allowed to log in (`ssh-ed25519 AAAA…`), for any user name. */
  readonly clientPublicKey: string;
  /** The host's private key (OpenSSH format); default: a fresh ed25519 key. */
  readonly hostPrivateKey?: string;
}

export interface DemoSshHost {
  readonly address: string;
  readonly port: number;
  /** `ssh-ed25519 AAAA…`: the key field of a known_hosts line for this host. */
  readonly hostPublicKey: string;
  /** SFTP requests answered so far, by type (for tests and the curious). */
  readonly requests: Readonly<Record<string, number>>;
  /** Stops listening and closes every connection. Idempotent. */
  stop(): Promise<void>;
}

interface FileEntry {
  readonly name: string;
  readonly source: string;
  readonly size: number;
  readonly mtime: number;
}

type Handle =
  | { readonly kind: 'file'; readonly entry: FileEntry; readonly fh: FileHandle }
  | { readonly kind: 'dir'; listed: boolean };

function fileAttrs(entry: FileEntry) {
  return { mode: S_IFREG | 0o600, uid: 0, gid: 0, size: entry.size, atime: entry.mtime, mtime: entry.mtime };
}

function dirAttrs(mtime: number) {
  return { mode: S_IFDIR | 0o700, uid: 0, gid: 0, size: 4096, atime: mtime, mtime };
}

/** `ls -l` style, as OpenSSH's READDIR long names look. */
function longName(entry: FileEntry): string {
  const date = new Date(entry.mtime * 1000).toUTCString().slice(4, 16);
  return `-rw-------    1 root     root     ${String(entry.size).padStart(8)} ${date} ${entry.name}`;
}

/** POSIX normalisation of a client path, relative ones against `/` (the demo user's home is `/`). */
function normalize(p: string): string {
  return path.posix.resolve('/', p || '.');
}

function publicKeyMatches(allowed: ParsedKey, key: { algo: string; data: Buffer }): boolean {
  const want = allowed.getPublicSSH();
  return key.algo === allowed.type && key.data.length === want.length && timingSafeEqual(key.data, want);
}

/** Serves one SFTP session over the files in `entries`. */
function serveSftp(
  sftp: SFTPWrapper,
  dir: string,
  entries: ReadonlyMap<string, FileEntry>,
  dirMtime: number,
  count: (type: string) => void,
): void {
  const handles = new Map<number, Handle>();
  let nextHandle = 1;

  const handleOf = (buf: Buffer): [number, Handle | undefined] => {
    const id = buf.length === 4 ? buf.readUInt32BE(0) : -1;
    return [id, handles.get(id)];
  };
  const newHandle = (h: Handle): Buffer | undefined => {
    if (handles.size >= MAX_HANDLES) return undefined;
    const id = nextHandle++;
    handles.set(id, h);
    const buf = Buffer.alloc(4);
    buf.writeUInt32BE(id, 0);
    return buf;
  };
  const lookup = (p: string): FileEntry | 'dir' | undefined => {
    const full = normalize(p);
    if (full === dir) return 'dir';
    if (path.posix.dirname(full) !== dir) return undefined;
    return entries.get(path.posix.basename(full));
  };
  const statPath = (reqid: number, p: string) => {
    const found = lookup(p);
    if (found === undefined) sftp.status(reqid, STATUS_CODE.NO_SUCH_FILE, 'No such file');
    else sftp.attrs(reqid, found === 'dir' ? dirAttrs(dirMtime) : fileAttrs(found));
  };
  const denied = (type: string) => (reqid: number) => {
    count(type);
    sftp.status(reqid, STATUS_CODE.PERMISSION_DENIED, 'read-only demo host');
  };

  sftp.on('REALPATH', (reqid, p) => {
    count('REALPATH');
    const full = normalize(p);
    sftp.name(reqid, [{ filename: full, longname: full, attrs: {} as never }]);
  });
  sftp.on('STAT', (reqid, p) => {
    count('STAT');
    statPath(reqid, p);
  });
  sftp.on('LSTAT', (reqid, p) => {
    count('LSTAT');
    statPath(reqid, p);
  });
  sftp.on('OPENDIR', (reqid, p) => {
    count('OPENDIR');
    const found = lookup(p);
    if (found === undefined) return sftp.status(reqid, STATUS_CODE.NO_SUCH_FILE, 'No such file');
    if (found !== 'dir') return sftp.status(reqid, STATUS_CODE.FAILURE, 'Not a directory');
    const h = newHandle({ kind: 'dir', listed: false });
    if (!h) return sftp.status(reqid, STATUS_CODE.FAILURE, 'too many open handles');
    sftp.handle(reqid, h);
  });
  sftp.on('READDIR', (reqid, buf) => {
    count('READDIR');
    const [, h] = handleOf(buf);
    if (h?.kind !== 'dir') return sftp.status(reqid, STATUS_CODE.FAILURE, 'invalid handle');
    if (h.listed) return sftp.status(reqid, STATUS_CODE.EOF);
    h.listed = true;
    const list = [...entries.values()].map((e) => ({
      filename: e.name,
      longname: longName(e),
      attrs: fileAttrs(e) as never,
    }));
    sftp.name(reqid, list);
  });
  sftp.on('OPEN', (reqid, p, flags) => {
    count('OPEN');
    // Read only: any flag that would write, create or truncate is refused, whether or not the file exists.
    if ((flags & ~OPEN_MODE.READ) !== 0) {
      return sftp.status(reqid, STATUS_CODE.PERMISSION_DENIED, 'read-only demo host');
    }
    const found = lookup(p);
    if (found === undefined) return sftp.status(reqid, STATUS_CODE.NO_SUCH_FILE, 'No such file');
    if (found === 'dir') return sftp.status(reqid, STATUS_CODE.FAILURE, 'Is a directory');
    open(found.source, 'r').then(
      (fh) => {
        const h = newHandle({ kind: 'file', entry: found, fh });
        if (!h) {
          void fh.close();
          return sftp.status(reqid, STATUS_CODE.FAILURE, 'too many open handles');
        }
        sftp.handle(reqid, h);
      },
      () => sftp.status(reqid, STATUS_CODE.FAILURE, 'cannot open'),
    );
  });
  sftp.on('FSTAT', (reqid, buf) => {
    count('FSTAT');
    const [, h] = handleOf(buf);
    if (h === undefined) return sftp.status(reqid, STATUS_CODE.FAILURE, 'invalid handle');
    sftp.attrs(reqid, h.kind === 'file' ? fileAttrs(h.entry) : dirAttrs(dirMtime));
  });
  sftp.on('READ', (reqid, buf, offset, length) => {
    count('READ');
    const [, h] = handleOf(buf);
    if (h?.kind !== 'file') return sftp.status(reqid, STATUS_CODE.FAILURE, 'invalid handle');
    if (offset >= h.entry.size) return sftp.status(reqid, STATUS_CODE.EOF);
    const len = Math.min(length, MAX_READ, h.entry.size - offset);
    const out = Buffer.allocUnsafe(len);
    // Reads are answered as they complete; the client matches answers to requests by id (SFTP allows any order).
    h.fh.read(out, 0, len, offset).then(
      ({ bytesRead }) => {
        if (bytesRead === 0) sftp.status(reqid, STATUS_CODE.EOF);
        else sftp.data(reqid, bytesRead === len ? out : out.subarray(0, bytesRead));
      },
      () => sftp.status(reqid, STATUS_CODE.FAILURE, 'read failed'),
    );
  });
  sftp.on('CLOSE', (reqid, buf) => {
    count('CLOSE');
    const [id, h] = handleOf(buf);
    if (h === undefined) return sftp.status(reqid, STATUS_CODE.FAILURE, 'invalid handle');
    handles.delete(id);
    if (h.kind === 'dir') return sftp.status(reqid, STATUS_CODE.OK);
    h.fh.close().then(
      () => sftp.status(reqid, STATUS_CODE.OK),
      () => sftp.status(reqid, STATUS_CODE.FAILURE, 'close failed'),
    );
  });
  for (const type of [
    'WRITE',
    'SETSTAT',
    'FSETSTAT',
    'REMOVE',
    'RMDIR',
    'MKDIR',
    'RENAME',
    'SYMLINK',
  ] as const) {
    sftp.on(type, denied(type));
  }
  const closeAll = () => {
    for (const h of handles.values()) if (h.kind === 'file') void h.fh.close().catch(() => undefined);
    handles.clear();
  };
  sftp.on('close', closeAll);
  sftp.on('end', closeAll);
}

/**
 * A new ed25519 key pair in OpenSSH format. ssh2 1.17's generateKeyPairSync drops a leading zero byte of the
 * public key when it writes the private key file (about 1 key in 200), and then cannot read that file back; so a
 * key is only returned once it parses.
 */
export function generateEd25519KeyPair(comment?: string): { private: string; public: string } {
  for (let attempt = 0; attempt < 50; attempt++) {
    const pair = utils.generateKeyPairSync('ed25519', comment === undefined ? {} : { comment });
    if (!(utils.parseKey(pair.private) instanceof Error)) return pair;
  }
  throw new Error('could not generate a readable ed25519 key');
}

/**
 * Starts a demo host on 127.0.0.1 (a random port). In: the files to serve and the client key to let in.
 * Out: its address, port and host key, and `stop()`.
 */
export async function startDemoSshHost(options: DemoSshHostOptions): Promise<DemoSshHost> {
  const dir = normalize(options.dir ?? '/var/log/audit');
  const hostPrivateKey = options.hostPrivateKey ?? generateEd25519KeyPair().private;
  const hostKey = utils.parseKey(hostPrivateKey);
  if (hostKey instanceof Error) throw hostKey;
  const parsedHost = Array.isArray(hostKey) ? hostKey[0] : hostKey;
  const allowed = utils.parseKey(options.clientPublicKey);
  if (allowed instanceof Error) throw allowed;
  const allowedKey = (Array.isArray(allowed) ? allowed[0] : allowed) as ParsedKey;

  const entries = new Map<string, FileEntry>();
  let dirMtime = 0;
  for (const f of options.files) {
    const s = await stat(f.source);
    const mtime = Math.floor((f.mtimeMs ?? s.mtimeMs) / 1000);
    dirMtime = Math.max(dirMtime, mtime);
    entries.set(f.name, { name: f.name, source: f.source, size: s.size, mtime });
  }

  const requests: Record<string, number> = {};
  const count = (type: string) => {
    requests[type] = (requests[type] ?? 0) + 1;
  };
  const connections = new Set<Connection>();
  const server = new Server({ hostKeys: [hostPrivateKey] }, (client) => {
    connections.add(client);
    client.on('close', () => connections.delete(client));
    // A client that goes away mid-handshake is not the demo's problem.
    client.on('error', () => undefined);
    client.on('authentication', (ctx) => {
      if (ctx.method !== 'publickey') return ctx.reject(['publickey']);
      if (!publicKeyMatches(allowedKey, ctx.key)) return ctx.reject(['publickey']);
      // Without a signature the client only asks whether the key would do; with one, check it.
      if (ctx.signature && allowedKey.verify(ctx.blob!, ctx.signature, ctx.hashAlgo) !== true) {
        return ctx.reject(['publickey']);
      }
      ctx.accept();
    });
    client.on('ready', () => {
      client.on('session', (accept) => {
        const session = accept();
        session.on('sftp', (acceptSftp) => {
          serveSftp(acceptSftp(), dir, entries, dirMtime, count);
        });
        session.on('exec', (_accept, reject) => reject());
        session.on('shell', (_accept, reject) => reject?.());
        session.on('pty', (_accept, reject) => reject?.());
        session.on('subsystem', (_accept, reject) => reject?.());
      });
      client.on('tcpip', (_accept, reject) => reject());
      client.on('request', (_accept, reject) => reject?.());
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  let stopped: Promise<void> | undefined;

  return {
    address: '127.0.0.1',
    port,
    hostPublicKey: `${parsedHost!.type} ${parsedHost!.getPublicSSH().toString('base64')}`,
    requests,
    stop() {
      stopped ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const c of connections) c.end();
      });
      return stopped;
    },
  };
}
