/**
 * The SSH session layer (issue #3): one authenticated ssh2 connection to an inventory host, through its
 * ProxyJump chain, with every hop's host key checked against known_hosts. The one runtime importer of ssh2.
 *
 * In: an {@link InventoryHost} and {@link SessionOptions}. Out: a {@link Session} (SFTP and exec channels,
 * facts for diagnostics) or a {@link SweepError} with a host failure code and a one-line message.
 */
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import ssh2, {
  type ClientChannel,
  type ConnectConfig,
  type NegotiatedAlgorithms,
  type ServerHostKeyAlgorithm,
  type SFTPWrapper,
} from 'ssh2';
import { SweepError } from '../errors.js';
import type { InventoryHost } from '../inventory/types.js';
import { type AuthAttempt, type AuthOptions, AuthSources, defaultUser, type KeyParser } from './auth.js';
import {
  type ConnectPhase,
  classifyError,
  interruptedError,
  oneLine,
  transientError,
} from './classify-error.js';
import type { ConnectLimiter } from './connect-limiter.js';
import {
  entryMatchesName,
  formatPublicKey,
  type HostKeyStatus,
  type HostKeyTarget,
  type HostKeyVerdict,
  judgeHostKey,
  knownHostName,
  type ParsedKnownHosts,
  readKnownHostsFile,
} from './known-hosts.js';

const { Client } = ssh2;
type Client = InstanceType<typeof Client>;
const parseKey: KeyParser = (data, passphrase) => ssh2.utils.parseKey(data, passphrase);

export interface SessionTimeouts {
  /** Per hop: TCP connect (or opening the forward through the previous hop) up to a finished key exchange. */
  readonly connectMs: number;
  /** Per hop: authentication, time spent in passphrase/password prompts excluded. */
  readonly authMs: number;
  /** SSH-level keepalive once logged in (OpenSSH's ServerAliveInterval); 0 disables. */
  readonly keepaliveIntervalMs: number;
  /** Unanswered keepalives before the connection is declared dead (ServerAliveCountMax). */
  readonly keepaliveCountMax: number;
  /** Closes a session that has had no open channel for this long (a leak guard); 0 never. */
  readonly idleMs: number;
}

export const DEFAULT_SESSION_TIMEOUTS: SessionTimeouts = {
  connectMs: 15_000,
  authMs: 30_000,
  keepaliveIntervalMs: 15_000,
  keepaliveCountMax: 3,
  idleMs: 0,
};

export interface SessionLogEvent {
  readonly level: 'debug' | 'info' | 'warn';
  /** The inventory host the session is for. */
  readonly host: string;
  /** Set when the event concerns a jump host. */
  readonly hop?: string;
  /** Never contains a password, passphrase or key material. */
  readonly message: string;
}

export type SessionLogger = (event: SessionLogEvent) => void;

export interface SessionOptions {
  /** known_hosts files, all consulted. Default {@link defaultKnownHostsFiles}. */
  readonly knownHostsFiles?: readonly string[];
  /** Credentials; share one {@link AuthSources} across a run so each passphrase is asked for once. */
  readonly auth?: AuthSources | AuthOptions;
  readonly timeouts?: Partial<SessionTimeouts>;
  /**
   * DANGEROUS: connect to hosts (and hops) whose key no known_hosts file lists, without checking it. Each such
   * acceptance is recorded in {@link SessionFacts.warnings} for the reports. A key that *changed* or is
   * revoked is refused regardless.
   */
  readonly insecureAcceptUnknownHostKeys?: boolean;
  /** The per-host deadline: aborting it interrupts a connection attempt, or closes an open session. */
  readonly signal?: AbortSignal;
  readonly logger?: SessionLogger;
  /** Bounds simultaneous connection attempts; the slot is held from the first hop's dial until login. */
  readonly connectLimiter?: ConnectLimiter;
}

export interface HostKeyFacts {
  readonly keyType: string;
  /** `SHA256:…`, as `ssh-keygen -lf` prints it. */
  readonly fingerprint: string;
  /** `accepted-unverified` only with {@link SessionOptions.insecureAcceptUnknownHostKeys}. */
  readonly status: 'trusted' | 'accepted-unverified';
  /** `file:line` of the known_hosts entry that matched. */
  readonly knownHostsEntry?: string;
}

export interface AlgorithmFacts {
  readonly kex: string;
  readonly serverHostKey: string;
  readonly cipher: { readonly clientToServer: string; readonly serverToClient: string };
  readonly mac: { readonly clientToServer: string; readonly serverToClient: string };
  readonly compress: { readonly clientToServer: string; readonly serverToClient: string };
}

/** What one hop of a connection (the host itself, or a jump host) looked like. */
export interface HopFacts {
  readonly name: string;
  readonly address: string;
  readonly port: number;
  readonly user: string;
  readonly hostKey: HostKeyFacts;
  readonly algorithms: AlgorithmFacts | undefined;
  /** The server's software version string (e.g. `OpenSSH_9.2p1`), for diagnostics only. */
  readonly serverSoftware: string | undefined;
  /** The method that logged in, e.g. `key /home/u/.ssh/id_ed25519 (ssh-ed25519)`; no secrets. */
  readonly authenticatedWith: string;
}

export interface SessionFacts extends HopFacts {
  /** The jump hosts passed through, in connection order. */
  readonly jumps: readonly HopFacts[];
  /** Security warnings (an unverified host key was accepted) that belong in every report of the run. */
  readonly warnings: readonly string[];
  /** From the first dial to login of the last hop, slot waiting excluded. */
  readonly connectMs: number;
}

/** An authenticated connection to one inventory host. */
export interface Session {
  readonly host: InventoryHost;
  /** The connected ssh2 client of the host itself (the last hop). */
  readonly client: Client;
  readonly facts: SessionFacts;
  /** True once the connection (or any hop under it) has closed. */
  readonly isClosed: boolean;
  /** Resolves when the session has closed: with the failure that closed it, or undefined after close(). */
  readonly closed: Promise<SweepError | undefined>;
  /** Opens an SFTP channel. Rejects with a SweepError (PROTOCOL, INTERRUPTED). */
  sftp(): Promise<SFTPWrapper>;
  /** Runs `command` on an exec channel. Rejects with a SweepError (PROTOCOL, INTERRUPTED). */
  exec(command: string): Promise<ClientChannel>;
  /** Closes the host and every hop, last first. Idempotent; never rejects. */
  close(): Promise<void>;
}

/** The key a host presented, captured without logging in (for `auditsweep hosts trust`). */
export interface PresentedHostKey {
  readonly keyType: string;
  readonly fingerprint: string;
  /** `ssh-ed25519 AAAA…`: the key field of a known_hosts line. */
  readonly publicKeyLine: string;
  /** The name a known_hosts entry should carry: `address`, or `[address]:port` off port 22. */
  readonly knownHostsName: string;
  /** What the known_hosts files say about this key now. */
  readonly status: HostKeyStatus;
  /** For `changed`: the entries that hold the old key(s), as `file:line`. */
  readonly knownEntries: readonly string[];
}

/** The known_hosts file `auditsweep hosts trust` writes: $XDG_CONFIG_HOME/auditsweep/known_hosts. */
export function auditsweepKnownHostsFile(
  env: Readonly<Record<string, string | undefined>> = process.env,
  home: string = os.homedir(),
): string {
  const config = env.XDG_CONFIG_HOME || path.join(home, '.config');
  return path.join(config, 'auditsweep', 'known_hosts');
}

/** What ssh(1) reads (~/.ssh/known_hosts, /etc/ssh/ssh_known_hosts) plus auditsweep's own file. */
export function defaultKnownHostsFiles(
  env: Readonly<Record<string, string | undefined>> = process.env,
  home: string = os.homedir(),
): string[] {
  return [
    path.join(home, '.ssh', 'known_hosts'),
    '/etc/ssh/ssh_known_hosts',
    auditsweepKnownHostsFile(env, home),
  ];
}

// ---------------------------------------------------------------------------------------------------------
// Connecting one hop.

interface HopSpec {
  readonly name: string;
  readonly address: string;
  readonly port: number;
  readonly user: string;
  readonly identityFiles: readonly string[];
  /** Prefix of every message about this hop. */
  readonly label: string;
  /** Undefined for the host itself. */
  readonly jumpName: string | undefined;
}

interface HopContext {
  readonly host: InventoryHost;
  readonly auth: AuthSources;
  readonly knownHostsFiles: readonly string[];
  readonly timeouts: SessionTimeouts;
  readonly insecure: boolean;
  readonly signal: AbortSignal | undefined;
  readonly warnings: string[];
  log(level: SessionLogEvent['level'], message: string, hop?: string): void;
}

interface ConnectedHop {
  readonly spec: HopSpec;
  readonly client: Client;
  readonly sock: Duplex;
  readonly facts: HopFacts;
  /** Errors emitted after login; the session installs its handler. */
  onLateError: (err: unknown) => void;
  lateError: unknown;
  isClosed: boolean;
}

type HopOutcome =
  | { readonly kind: 'ready'; readonly hop: ConnectedHop }
  | { readonly kind: 'captured'; readonly key: Buffer; readonly verdict: HostKeyVerdict };

function endpoint(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

function hopSpecs(host: InventoryHost, env: NodeJS.ProcessEnv): HopSpec[] {
  const hostLabel =
    host.name === host.address
      ? endpoint(host.address, host.port)
      : `${host.name} (${endpoint(host.address, host.port)})`;
  const jumps = host.jump.map(
    (j): HopSpec => ({
      name: j.name,
      address: j.address,
      port: j.port,
      user: j.user ?? defaultUser(env),
      identityFiles: j.identityFiles,
      label: `${host.name}: jump host ${j.name} (${endpoint(j.address, j.port)})`,
      jumpName: j.name,
    }),
  );
  return [
    ...jumps,
    {
      name: host.name,
      address: host.address,
      port: host.port,
      user: host.user ?? defaultUser(env),
      identityFiles: host.identityFiles,
      label: hostLabel,
      jumpName: undefined,
    },
  ];
}

const DEFAULT_HOST_KEY_ALGORITHMS: ServerHostKeyAlgorithm[] = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
  'ssh-rsa',
];

/**
 * Host key algorithms with the types known_hosts already holds for the host first: otherwise a host known
 * only by its RSA key would present its ed25519 key and look changed (OpenSSH orders them the same way).
 */
export function hostKeyAlgorithms(knownKeyTypes: readonly string[]): ServerHostKeyAlgorithm[] {
  const preferred: ServerHostKeyAlgorithm[] = [];
  for (const type of knownKeyTypes) {
    if (type === 'ssh-rsa') preferred.push('rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa');
    else if (type === 'ssh-dss') preferred.push('ssh-dss');
    else if ((DEFAULT_HOST_KEY_ALGORITHMS as string[]).includes(type))
      preferred.push(type as ServerHostKeyAlgorithm);
  }
  return [...new Set([...preferred, ...DEFAULT_HOST_KEY_ALGORITHMS])];
}

function knownKeyTypes(target: HostKeyTarget, known: readonly ParsedKnownHosts[]): string[] {
  const name = knownHostName(target.host, target.port);
  return known
    .flatMap((k) => k.entries)
    .filter((e) => e.marker === undefined && entryMatchesName(e, name))
    .map((e) => e.keyType);
}

async function readKnownHosts(ctx: HopContext, spec: HopSpec): Promise<ParsedKnownHosts[]> {
  const known = await Promise.all(ctx.knownHostsFiles.map((f) => readKnownHostsFile(f)));
  for (const issue of known.flatMap((k) => k.issues)) {
    ctx.log('debug', `known_hosts ${issue.file}:${issue.line} skipped: ${issue.reason}`, spec.jumpName);
  }
  return known;
}

function unknownHostError(spec: HopSpec, verdict: HostKeyVerdict): SweepError {
  const caOnly =
    verdict.status === 'cert-authority-only'
      ? ' (known_hosts has only a @cert-authority entry for it, and host certificates are not supported)'
      : '';
  return new SweepError(
    'HOST_KEY_UNKNOWN',
    `${spec.label}: unknown host key${caOnly}: the server presented ${verdict.keyType} ${verdict.fingerprint}. ` +
      `Check that fingerprint with the host's administrator, then run: auditsweep hosts trust ${spec.name}`,
  );
}

function changedHostError(spec: HopSpec, verdict: HostKeyVerdict): SweepError {
  const known = (verdict.knownKeys ?? [])
    .filter((k) => k.marker === undefined)
    .map((k) => `${k.keyType} ${k.fingerprint} at ${k.file}:${k.line}`);
  const first = (verdict.knownKeys ?? []).find((k) => k.marker === undefined);
  const remove = first
    ? ` Remove the old entry (ssh-keygen -R '${knownHostName(spec.address, spec.port)}' -f ${first.file}) and`
    : '';
  return new SweepError(
    'HOST_KEY_CHANGED',
    `${spec.label}: HOST KEY CHANGED — possibly a man-in-the-middle attack, or the host was reinstalled. ` +
      `Presented: ${verdict.keyType} ${verdict.fingerprint}; known: ${known.join(', ')}. ` +
      `Not connecting. If the change is expected, confirm the new fingerprint out of band.${remove} run: auditsweep hosts trust ${spec.name}`,
  );
}

function revokedHostError(spec: HopSpec, verdict: HostKeyVerdict): SweepError {
  return new SweepError(
    'HOST_KEY_CHANGED',
    `${spec.label}: the server presented a REVOKED host key ${verdict.keyType} ${verdict.fingerprint} ` +
      `(@revoked at ${verdict.matchedFile}:${verdict.matchedLine}); refusing to connect — possibly a man-in-the-middle attack`,
  );
}

/** Watches the first bytes a server sends, to tell "not an SSH server" from a silent or slow one. */
class BannerPeek {
  #bytes = Buffer.alloc(0);
  #sock: Duplex | undefined;
  #sawIdent = false;

  readonly #onData = (chunk: Buffer) => {
    if (this.#bytes.length < 512) this.#bytes = Buffer.concat([this.#bytes, chunk]).subarray(0, 512);
    if (/(^|\n)SSH-/.test(this.#bytes.toString('latin1'))) {
      this.#sawIdent = true;
      this.detach();
    }
  };

  /** Call after ssh2 has paused the stream, so that listening does not switch it to flowing mode. */
  attach(sock: Duplex): void {
    this.#sock = sock;
    sock.on('data', this.#onData);
  }

  detach(): void {
    this.#sock?.off('data', this.#onData);
    this.#sock = undefined;
  }

  /** The server sent something, and none of it was an SSH identification line. */
  get notSsh(): boolean {
    return !this.#sawIdent && this.#bytes.length > 0;
  }

  get sample(): string {
    const firstLine = this.#bytes.toString('latin1').split('\n')[0] ?? '';
    return oneLine(firstLine.replace(/[^\x20-\x7e]/g, '.'), 60);
  }
}

/** One phase timeout that prompts can pause. */
class PhaseTimer {
  #timer: NodeJS.Timeout | undefined;
  #remaining: number | undefined;
  #deadline = 0;
  #suspended = 0;
  #ms = 0;
  readonly #onExpire: (ms: number) => void;

  constructor(onExpire: (ms: number) => void) {
    this.#onExpire = onExpire;
  }

  start(ms: number): void {
    this.clear();
    this.#ms = ms;
    if (ms <= 0) return;
    this.#remaining = ms;
    if (this.#suspended === 0) this.#arm();
  }

  suspend(): void {
    if (this.#suspended++ === 0 && this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#remaining = Math.max(0, this.#deadline - Date.now());
    }
  }

  resume(): void {
    if (this.#suspended > 0 && --this.#suspended === 0 && this.#remaining !== undefined && !this.#timer) {
      this.#arm();
    }
  }

  clear(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#remaining = undefined;
  }

  #arm(): void {
    const remaining = this.#remaining ?? this.#ms;
    this.#deadline = Date.now() + remaining;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#remaining = undefined;
      this.#onExpire(this.#ms);
    }, remaining);
  }
}

function algorithmFacts(n: NegotiatedAlgorithms): AlgorithmFacts {
  return {
    kex: n.kex,
    serverHostKey: n.serverHostKey,
    cipher: { clientToServer: n.cs.cipher, serverToClient: n.sc.cipher },
    mac: { clientToServer: n.cs.mac || '(implicit)', serverToClient: n.sc.mac || '(implicit)' },
    compress: { clientToServer: n.cs.compress, serverToClient: n.sc.compress },
  };
}

/** ssh2 keeps the server's version string in a private field; read defensively, for diagnostics only. */
function serverSoftware(client: Client): string | undefined {
  const value = (client as unknown as { _remoteVer?: unknown })._remoteVer;
  return typeof value === 'string' ? value : undefined;
}

/**
 * Connects one hop: directly over TCP (`via` undefined) or through a direct-tcpip channel of the previous hop.
 * `login` authenticates; `capture` stops at the host key, which it returns.
 */
async function connectHop(
  spec: HopSpec,
  via: ConnectedHop | undefined,
  ctx: HopContext,
  mode: 'login' | 'capture',
  preferredKeyTypes?: readonly string[],
): Promise<HopOutcome> {
  if (ctx.signal?.aborted) throw interruptedError(spec.label, 'before connecting', ctx.signal.reason);
  const known = await readKnownHosts(ctx, spec);
  const target: HostKeyTarget = { host: spec.address, port: spec.port };
  const algorithms = hostKeyAlgorithms(preferredKeyTypes ?? knownKeyTypes(target, known));

  return new Promise<HopOutcome>((resolve, reject) => {
    const client = new Client();
    const peek = new BannerPeek();
    let phase: ConnectPhase = 'connect';
    let settled = false;
    let sock: Duplex | undefined;
    let hostKeyError: SweepError | undefined;
    let hostKey: HostKeyFacts | undefined;
    let captured: { key: Buffer; verdict: HostKeyVerdict } | undefined;
    let negotiated: NegotiatedAlgorithms | undefined;
    const log = (level: SessionLogEvent['level'], message: string) => ctx.log(level, message, spec.jumpName);

    const timer = new PhaseTimer((ms) => {
      if (peek.notSsh) fail(notSshError());
      else
        fail(
          classifyError(Object.assign(new Error('timed out'), { level: 'client-timeout' }), {
            label: spec.label,
            phase,
            timeoutMs: ms,
          }),
        );
    });

    let attempt: AuthAttempt | undefined;
    if (mode === 'login') {
      attempt = ctx.auth.attempt(spec, {
        parseKey,
        suspend: () => timer.suspend(),
        resume: () => timer.resume(),
        log,
      });
    }

    const onAbort = () =>
      fail(
        interruptedError(
          spec.label,
          phase === 'auth' ? 'during authentication' : 'while connecting',
          ctx.signal?.reason,
        ),
      );
    ctx.signal?.addEventListener('abort', onAbort, { once: true });

    let hop: ConnectedHop | undefined;

    function notSshError(): SweepError {
      return new SweepError(
        'PROTOCOL',
        `${spec.label}: not an SSH server (it sent ${JSON.stringify(peek.sample)} instead of an SSH banner)`,
      );
    }

    function cleanup(): void {
      timer.clear();
      peek.detach();
      ctx.signal?.removeEventListener('abort', onAbort);
    }

    function fail(err: SweepError): void {
      if (settled) return;
      settled = true;
      cleanup();
      client.destroy();
      sock?.destroy();
      reject(err);
    }

    function settle(outcome: HopOutcome): void {
      if (settled) return;
      settled = true;
      cleanup();
      resolve(outcome);
    }

    const hostVerifier = (key: Buffer): boolean => {
      const verdict = judgeHostKey(target, key, known);
      if (mode === 'capture') {
        captured = { key: Buffer.from(key), verdict };
        return false;
      }
      const base = { keyType: verdict.keyType, fingerprint: verdict.fingerprint };
      switch (verdict.status) {
        case 'trusted':
          hostKey = {
            ...base,
            status: 'trusted',
            knownHostsEntry: `${verdict.matchedFile}:${verdict.matchedLine}`,
          };
          log(
            'debug',
            `host key ${verdict.keyType} ${verdict.fingerprint} matches ${hostKey.knownHostsEntry}`,
          );
          return true;
        case 'unknown':
        case 'cert-authority-only':
          if (ctx.insecure) {
            hostKey = { ...base, status: 'accepted-unverified' };
            const warning =
              `INSECURE: accepted the unverified ${verdict.keyType} host key ${verdict.fingerprint} of ${spec.label} ` +
              '(insecureAcceptUnknownHostKeys is set; anyone on the network path could have impersonated it)';
            ctx.warnings.push(warning);
            log('warn', warning);
            return true;
          }
          hostKeyError = unknownHostError(spec, verdict);
          return false;
        case 'changed':
          hostKeyError = changedHostError(spec, verdict);
          return false;
        case 'revoked':
          hostKeyError = revokedHostError(spec, verdict);
          return false;
      }
    };

    client.on('handshake', (n: NegotiatedAlgorithms) => {
      negotiated = n;
      if (settled || phase === 'auth' || phase === 'ready') return; // a re-key
      phase = 'auth';
      peek.detach();
      timer.start(ctx.timeouts.authMs);
    });

    client.on('ready', () => {
      if (settled) return;
      phase = 'ready';
      // Nagle's algorithm (on by default) stalls pipelined SFTP reads on delayed ACKs: a measured 3× loss.
      client.setNoDelay(true);
      const facts: HopFacts = {
        name: spec.name,
        address: spec.address,
        port: spec.port,
        user: spec.user,
        hostKey: hostKey ?? { keyType: 'unknown', fingerprint: 'unknown', status: 'accepted-unverified' },
        algorithms: negotiated ? algorithmFacts(negotiated) : undefined,
        serverSoftware: serverSoftware(client),
        authenticatedWith: attempt?.succeededWith() ?? 'none',
      };
      hop = {
        spec,
        client,
        sock: sock as Duplex,
        facts,
        onLateError: () => {},
        lateError: undefined,
        isClosed: false,
      };
      log('info', `logged in as ${spec.user} with ${facts.authenticatedWith}`);
      settle({ kind: 'ready', hop });
    });

    client.on('error', (err: Error & { level?: string }) => {
      if (settled) {
        if (hop) {
          hop.lateError ??= err;
          hop.onLateError(err);
        }
        return;
      }
      const message = typeof err?.message === 'string' ? err.message : String(err);
      if (err?.level === 'agent') {
        // ssh2 moves on to the next method by itself.
        log('warn', `ssh-agent: ${oneLine(message, 200)}`);
        attempt?.noteAgentError(message);
        return;
      }
      if (/^Error (while )?signing/i.test(message)) {
        log('warn', oneLine(message, 200));
        return;
      }
      if (/Host denied/i.test(message)) {
        if (captured) {
          settle({ kind: 'captured', key: captured.key, verdict: captured.verdict });
          client.destroy();
          sock?.destroy();
          return;
        }
        fail(
          hostKeyError
            ? new SweepError(hostKeyError.code, hostKeyError.message, { cause: err })
            : classifyError(err, { label: spec.label, phase }),
        );
        return;
      }
      if (/All configured authentication methods failed|Too many authentication failures/i.test(message)) {
        const summary = attempt ? attempt.failureSummary() : oneLine(message, 200);
        fail(new SweepError('AUTH_FAILED', `${spec.label}: ${summary}`, { cause: err }));
        return;
      }
      if ((phase === 'connect' || phase === 'handshake') && peek.notSsh) {
        fail(notSshError());
        return;
      }
      fail(classifyError(err, { label: spec.label, phase, timeoutMs: ctx.timeouts.connectMs }));
    });

    client.on('close', () => {
      if (hop) hop.isClosed = true;
      if (settled) return;
      if (peek.notSsh) fail(notSshError());
      else
        fail(
          transientError(
            'PROTOCOL',
            `${spec.label}: the server closed the connection ${phase === 'auth' ? 'during authentication' : 'during the SSH handshake'}`,
            new Error('connection closed'),
          ),
        );
    });

    const startSsh = (stream: Duplex): void => {
      const config: ConnectConfig = {
        sock: stream,
        username: spec.user,
        hostVerifier,
        algorithms: { serverHostKey: algorithms },
        // Timeouts are ours (PhaseTimer): ssh2's readyTimeout cannot pause for a passphrase prompt.
        readyTimeout: 0,
        keepaliveInterval: ctx.timeouts.keepaliveIntervalMs,
        keepaliveCountMax: ctx.timeouts.keepaliveCountMax,
      };
      if (attempt) config.authHandler = attempt.handler;
      try {
        client.connect(config);
      } catch (err) {
        fail(
          new SweepError('INTERNAL', `${spec.label}: cannot start SSH: ${oneLine(String(err), 200)}`, {
            cause: err,
          }),
        );
        return;
      }
      // ssh2 has paused the stream in connect(): listening now does not start the data flowing early.
      peek.attach(stream);
    };

    timer.start(ctx.timeouts.connectMs);
    if (!via) {
      log('debug', `connecting to ${endpoint(spec.address, spec.port)}`);
      const socket = net.connect({ host: spec.address, port: spec.port });
      sock = socket;
      socket.once('connect', () => {
        if (phase === 'connect') phase = 'handshake';
      });
      startSsh(socket);
      return;
    }

    log('debug', `opening a forward to ${endpoint(spec.address, spec.port)} through ${via.spec.name}`);
    try {
      via.client.forwardOut('127.0.0.1', 0, spec.address, spec.port, (err, channel) => {
        if (settled) {
          channel?.destroy();
          return;
        }
        if (err) {
          fail(forwardError(spec, via, err));
          return;
        }
        sock = channel;
        phase = 'handshake';
        startSsh(channel);
      });
    } catch (err) {
      fail(forwardError(spec, via, err));
    }
  });
}

/** A direct-tcpip channel the previous hop would not or could not open (RFC 4254 §5.1 reason codes). */
function forwardError(spec: HopSpec, via: ConnectedHop, err: unknown): SweepError {
  if (via.isClosed || via.lateError) {
    return classifyError(via.lateError ?? err, { label: via.spec.label, phase: 'ready' });
  }
  const e = err as { reason?: unknown; message?: unknown };
  const description =
    typeof e.message === 'string' ? e.message.replace(/^\(SSH\) Channel open failure: /, '') : '';
  const through = `${spec.label}: ${via.spec.name} could not forward the connection`;
  if (e.reason === 1) {
    return new SweepError(
      'PROTOCOL',
      `${through}: administratively prohibited (is AllowTcpForwarding disabled on ${via.spec.name}?)`,
      { cause: err },
    );
  }
  if (/refused/i.test(description))
    return new SweepError('REFUSED', `${through}: connection refused`, { cause: err });
  if (/timed out|unreachable/i.test(description)) {
    return new SweepError('TIMEOUT', `${through}: ${oneLine(description, 120)}`, { cause: err });
  }
  if (/name or service|resolve|not known/i.test(description)) {
    return new SweepError('DNS', `${through}: cannot resolve the host name`, { cause: err });
  }
  if (e.reason === 2) {
    return new SweepError('REFUSED', `${through}: ${oneLine(description, 120) || 'connect failed'}`, {
      cause: err,
    });
  }
  return new SweepError('PROTOCOL', `${through}: ${oneLine(description, 120) || 'channel open failed'}`, {
    cause: err,
  });
}

// ---------------------------------------------------------------------------------------------------------
// Sessions.

function makeContext(host: InventoryHost, options: SessionOptions): HopContext {
  const logger = options.logger;
  return {
    host,
    auth: options.auth instanceof AuthSources ? options.auth : new AuthSources(options.auth ?? {}),
    knownHostsFiles: options.knownHostsFiles ?? defaultKnownHostsFiles(),
    timeouts: { ...DEFAULT_SESSION_TIMEOUTS, ...options.timeouts },
    insecure: options.insecureAcceptUnknownHostKeys === true,
    signal: options.signal,
    warnings: [],
    log: (level, message, hop) => {
      if (!logger) return;
      logger(
        hop === undefined ? { level, host: host.name, message } : { level, host: host.name, hop, message },
      );
    },
  };
}

async function acquireSlot(options: SessionOptions, host: InventoryHost): Promise<() => void> {
  if (!options.connectLimiter) return () => {};
  try {
    return await options.connectLimiter.acquire(options.signal);
  } catch (err) {
    throw interruptedError(host.name, 'while waiting for a connection slot', options.signal?.reason ?? err);
  }
}

/** Ends clients last hop first, waiting (briefly) for each to close; destroys what does not. */
async function closeHops(hops: readonly ConnectedHop[]): Promise<void> {
  for (const hop of [...hops].reverse()) {
    if (hop.isClosed) {
      hop.sock?.destroy();
      continue;
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        hop.client.destroy();
        hop.sock?.destroy();
        resolve();
      }, 2_000);
      hop.client.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      hop.client.end();
    });
    hop.isClosed = true;
    hop.sock?.destroy();
  }
}

class SshSession implements Session {
  readonly host: InventoryHost;
  readonly facts: SessionFacts;
  readonly closed: Promise<SweepError | undefined>;
  readonly #hops: readonly ConnectedHop[];
  readonly #ctx: HopContext;
  #failure: SweepError | undefined;
  #closing: Promise<void> | undefined;
  #resolveClosed: (failure: SweepError | undefined) => void = () => {};
  #openChannels = 0;
  #idleTimer: NodeJS.Timeout | undefined;
  readonly #onAbort = () => {
    this.#failure ??= interruptedError(this.#last.spec.label, 'after login', this.#ctx.signal?.reason);
    void this.close();
  };

  constructor(host: InventoryHost, hops: readonly ConnectedHop[], ctx: HopContext, connectMs: number) {
    this.host = host;
    this.#hops = hops;
    this.#ctx = ctx;
    this.closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
    const last = this.#last;
    this.facts = {
      ...last.facts,
      jumps: hops.slice(0, -1).map((h) => h.facts),
      warnings: ctx.warnings,
      connectMs,
    };
    for (const hop of hops) {
      hop.onLateError = (err) => {
        const failure = classifyError(err, { label: hop.spec.label, phase: 'ready' });
        this.#failure ??= failure;
        ctx.log('warn', failure.message, hop.spec.jumpName);
      };
      if (hop.lateError !== undefined) hop.onLateError(hop.lateError);
      hop.client.on('close', () => {
        hop.isClosed = true;
        if (!this.#closing) {
          this.#failure ??= new SweepError(
            'INTERRUPTED',
            `${hop.spec.label}: the connection was closed by the server`,
          );
          void this.close();
        }
      });
      if (hop.isClosed) this.#failure ??= new SweepError('INTERRUPTED', `${hop.spec.label}: connection lost`);
    }
    ctx.signal?.addEventListener('abort', this.#onAbort, { once: true });
    if (ctx.signal?.aborted) this.#onAbort();
    else if (this.#failure) void this.close();
    this.#armIdle();
  }

  get #last(): ConnectedHop {
    return this.#hops[this.#hops.length - 1] as ConnectedHop;
  }

  get client(): Client {
    return this.#last.client;
  }

  get isClosed(): boolean {
    return this.#closing !== undefined || this.#hops.some((h) => h.isClosed);
  }

  sftp(): Promise<SFTPWrapper> {
    return this.#open('an SFTP channel', (cb) => this.client.sftp(cb));
  }

  exec(command: string): Promise<ClientChannel> {
    return this.#open('an exec channel', (cb) => this.client.exec(command, cb));
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    if (this.#idleTimer) clearTimeout(this.#idleTimer);
    this.#ctx.signal?.removeEventListener('abort', this.#onAbort);
    await closeHops(this.#hops);
    this.#resolveClosed(this.#failure);
  }

  #open<T extends SFTPWrapper | ClientChannel>(
    what: string,
    open: (cb: (err: Error | undefined, channel: T) => void) => void,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.isClosed) {
        reject(
          this.#failure ?? new SweepError('INTERRUPTED', `${this.#last.spec.label}: the session is closed`),
        );
        return;
      }
      let settled = false;
      // ssh2 may never answer a channel request once the connection is going away (an abort, a run that stops):
      // the session's end settles it, so that nobody waits for ever.
      void this.closed.then((failure) => {
        if (settled) return;
        settled = true;
        reject(
          failure ??
            this.#failure ??
            new SweepError(
              'INTERRUPTED',
              `${this.#last.spec.label}: the session closed while opening ${what}`,
            ),
        );
      });
      const done = (err: Error | undefined, channel: T) => {
        if (settled) {
          channel?.end();
          return;
        }
        settled = true;
        if (err) {
          reject(this.#failure ?? this.#channelError(what, err));
          return;
        }
        this.#openChannels++;
        this.#armIdle();
        channel.once('close', () => {
          this.#openChannels--;
          this.#armIdle();
        });
        resolve(channel);
      };
      try {
        open(done);
      } catch (err) {
        settled = true;
        reject(this.#failure ?? this.#channelError(what, err));
      }
    });
  }

  #channelError(what: string, err: unknown): SweepError {
    const label = this.#last.spec.label;
    if (this.isClosed) return classifyError(err, { label, phase: 'ready' });
    const message = err instanceof Error ? err.message : String(err);
    return new SweepError(
      'PROTOCOL',
      `${label}: cannot open ${what}: ${oneLine(message.replace(/^\(SSH\) /, ''), 200)}`,
      {
        cause: err,
      },
    );
  }

  #armIdle(): void {
    if (this.#idleTimer) clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
    const ms = this.#ctx.timeouts.idleMs;
    if (ms <= 0 || this.#openChannels > 0 || this.#closing) return;
    this.#idleTimer = setTimeout(() => {
      this.#ctx.log('debug', `closing the session after ${ms} ms without an open channel`);
      void this.close();
    }, ms);
  }
}

/**
 * Opens an authenticated session to `host`, through its jump hosts in order, verifying every host key.
 * Rejects with a SweepError: DNS, REFUSED, TIMEOUT, HOST_KEY_UNKNOWN, HOST_KEY_CHANGED, AUTH_FAILED, PROTOCOL
 * or INTERRUPTED; a jump host's failure carries the jump host's name in the message.
 */
export async function openSession(host: InventoryHost, options: SessionOptions = {}): Promise<Session> {
  const ctx = makeContext(host, options);
  const release = await acquireSlot(options, host);
  const started = Date.now();
  const hops: ConnectedHop[] = [];
  try {
    let via: ConnectedHop | undefined;
    for (const spec of hopSpecs(host, process.env)) {
      const outcome = await connectHop(spec, via, ctx, 'login');
      if (outcome.kind !== 'ready')
        throw new SweepError('INTERNAL', `${spec.label}: unexpected host key capture`);
      hops.push(outcome.hop);
      via = outcome.hop;
    }
  } catch (err) {
    release();
    await closeHops(hops);
    throw err;
  } finally {
    release();
  }
  return new SshSession(host, hops, ctx, Date.now() - started);
}

/**
 * Connects to `host` (through its jump hosts, which are verified and logged into) only as far as the key
 * exchange, and returns the host key it presented, without authenticating: the input of `hosts trust`.
 * `preferredKeyTypes` (e.g. `['ssh-rsa']`) asks for a key of another type.
 */
export async function fetchHostKey(
  host: InventoryHost,
  options: SessionOptions & { readonly preferredKeyTypes?: readonly string[] } = {},
): Promise<PresentedHostKey> {
  const ctx = makeContext(host, options);
  const release = await acquireSlot(options, host);
  const hops: ConnectedHop[] = [];
  try {
    const specs = hopSpecs(host, process.env);
    let via: ConnectedHop | undefined;
    for (const spec of specs.slice(0, -1)) {
      const outcome = await connectHop(spec, via, ctx, 'login');
      if (outcome.kind !== 'ready')
        throw new SweepError('INTERNAL', `${spec.label}: unexpected host key capture`);
      hops.push(outcome.hop);
      via = outcome.hop;
    }
    const spec = specs[specs.length - 1] as HopSpec;
    const outcome = await connectHop(spec, via, ctx, 'capture', options.preferredKeyTypes);
    if (outcome.kind !== 'captured') throw new SweepError('INTERNAL', `${spec.label}: host key not captured`);
    const { key, verdict } = outcome;
    return {
      keyType: verdict.keyType,
      fingerprint: verdict.fingerprint,
      publicKeyLine: formatPublicKey(key),
      knownHostsName: knownHostName(host.address, host.port),
      status: verdict.status,
      knownEntries: (verdict.knownKeys ?? [])
        .filter((k) => k.marker === undefined)
        .map((k) => `${k.file}:${k.line}`),
    };
  } finally {
    release();
    await closeHops(hops);
  }
}
