/**
 * The pre-flight of `auditsweep hosts check`: for one host, what a sweep does before it reads anything — connect
 * through the session layer (every hop's host key verified against known_hosts; an unknown key is an answer,
 * never accepted), open the host's transport (SFTP or sudo), list the audit log and its rotated siblings — and
 * then a read of the live log's first bytes, to prove it is readable. No log is ever read whole.
 *
 * In: an {@link InventoryHost} and {@link CheckHostOptions}. Out: a {@link HostCheck}, `ok` with what was found or
 * `failed` with the code hosts.csv would carry, the same message and a remedy. Never throws for a host failure.
 */
import type { HostFailureCode } from '../errors.js';
import type { InventoryHost, Transport } from '../inventory/types.js';
import { type FanOutOptions, fanOut } from './fan-out.js';
import { hostFailure } from './host-failure.js';
import { connectHost, openTransport } from './open-transport.js';
import type { RetryOptions } from './retry.js';
import type { Session, SessionOptions } from './session.js';

/** Bytes read from the live log: enough to open it and see data come back, far too few to matter. */
export const DEFAULT_PROBE_BYTES = 512;

export interface CheckHostOptions {
  /** As for a sweep; `insecureAcceptUnknownHostKeys` is ignored (a check never accepts an unknown key). */
  readonly session: SessionOptions;
  /** Retries of transient connection failures, as the sweep makes them. */
  readonly retry?: Partial<Pick<RetryOptions, 'attempts' | 'baseDelayMs' | 'maxDelayMs'>> | undefined;
  /** Aborted at the per-host deadline or on interrupt: the host then ends INTERRUPTED. */
  readonly signal?: AbortSignal | undefined;
  /** Bytes of the live log to read. Default {@link DEFAULT_PROBE_BYTES}. */
  readonly probeBytes?: number | undefined;
  /**
   * The command that records a host's key, for the remedy of HOST_KEY_UNKNOWN and HOST_KEY_CHANGED: the CLI adds
   * the flags it was given, so that the command can be pasted as it is. Default `auditsweep hosts trust NAME`.
   */
  readonly trustCommand?: ((name: string) => string) | undefined;
}

/** How far a check got: the step that failed, or `read` for a host that passed them all. */
export type CheckStage = 'connect' | 'transport' | 'list' | 'read';

/** One file of the log's family, as listed. */
export interface CheckedLogFile {
  readonly path: string;
  readonly name: string;
  readonly size: number;
  /** Last modification, ISO 8601. */
  readonly mtime: string;
  /** Permission bits, when the transport tells them. */
  readonly mode?: number | undefined;
}

interface HostCheckCommon {
  readonly host: string;
  readonly address: string;
  readonly port: number;
  readonly transport: Transport;
  readonly logPath: string;
  readonly durationMs: number;
}

export interface HostCheckOk extends HostCheckCommon {
  readonly status: 'ok';
  /** The login user. */
  readonly user: string;
  /** The host key that was verified. */
  readonly hostKey: { readonly keyType: string; readonly fingerprint: string };
  /** The live log and its rotated siblings, oldest first. */
  readonly files: CheckedLogFile[];
  /** Their total size. */
  readonly bytes: number;
  /** Bytes actually read from the live log (at most the probe size). */
  readonly probedBytes: number;
  /** One line: files, bytes, how the log was reached, when it was last written. */
  readonly message: string;
}

export interface HostCheckFailed extends HostCheckCommon {
  readonly status: 'failed';
  readonly code: HostFailureCode;
  readonly stage: CheckStage;
  /** The message hosts.csv would carry (it names the hop and, for several codes, the fix). */
  readonly message: string;
  /** What to do, when the message does not already say it (HOST_KEY_*: the exact trust command). */
  readonly remedy?: string | undefined;
  /** HOST_KEY_UNKNOWN / HOST_KEY_CHANGED: the fingerprint the server presented (`SHA256:…`). */
  readonly fingerprint?: string | undefined;
  /** HOST_KEY_*: the host or jump host whose key it is (the name to pass to `hosts trust`). */
  readonly keyHolder?: string | undefined;
}

export type HostCheck = HostCheckOk | HostCheckFailed;

function endpoint(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/**
 * The hop a host-key failure is about: the session labels a jump host's messages `HOST: jump host NAME (…)`.
 */
function keyHolderOf(host: InventoryHost, message: string): string {
  return host.jump.find((j) => message.startsWith(`${host.name}: jump host ${j.name} (`))?.name ?? host.name;
}

/** The first `SHA256:…` of a host-key message: the key the server presented (the session names it first). */
function presentedFingerprint(message: string): string | undefined {
  return /SHA256:[A-Za-z0-9+/]+=*/.exec(message)?.[0];
}

/** The remedy of a failure whose message does not carry one, and the host-key facts for HOST_KEY_*. */
function remedyOf(
  host: InventoryHost,
  code: HostFailureCode,
  message: string,
  trustCommand: (name: string) => string,
): Pick<HostCheckFailed, 'remedy' | 'fingerprint' | 'keyHolder'> {
  const target = host.jump.length > 0 ? 'the host named in the message' : endpoint(host.address, host.port);
  switch (code) {
    case 'DNS':
      return {
        remedy: `check the address of ${host.name} in the inventory (or HostName in the ssh config) and this machine's DNS`,
      };
    case 'REFUSED':
      return { remedy: `nothing accepts SSH connections at ${target}: start sshd, or correct the port` };
    case 'TIMEOUT':
      return {
        remedy: `check that ${target} is reachable from here and answers SSH (firewall, VPN, jump host), or allow more time with --connect-timeout`,
      };
    case 'HOST_KEY_UNKNOWN': {
      const keyHolder = keyHolderOf(host, message);
      const fingerprint = presentedFingerprint(message);
      return {
        keyHolder,
        fingerprint,
        remedy: `check ${fingerprint ?? 'the fingerprint'} with the host's administrator (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub on ${keyHolder}), then run: ${trustCommand(keyHolder)}`,
      };
    }
    case 'HOST_KEY_CHANGED': {
      const keyHolder = keyHolderOf(host, message);
      const fingerprint = presentedFingerprint(message);
      if (/REVOKED/.test(message)) {
        return {
          keyHolder,
          fingerprint,
          remedy: `do not connect: the key is marked @revoked; have ${keyHolder} re-keyed and its new key confirmed out of band`,
        };
      }
      return {
        keyHolder,
        fingerprint,
        remedy: `do not connect until the host's administrator confirms ${fingerprint ?? 'the new key'}; if the change is expected, remove the old entry (ssh-keygen -R) and run: ${trustCommand(keyHolder)}`,
      };
    }
    case 'AUTH_FAILED':
      return {
        remedy: `check the login user${host.user === undefined ? '' : ` (${host.user})`} and its credentials: identityFile in the inventory or --identity, the ssh-agent, or AUDITSWEEP_SSH_PASSWORD; the key must be in the user's authorized_keys`,
      };
    case 'INTERRUPTED':
      return {
        remedy: 'the connection dropped or the deadline passed (--host-timeout); run the check again',
      };
    case 'PROTOCOL':
      return {
        remedy:
          host.jump.length > 0
            ? 'see the message; ssh -vvv through the same jump hosts shows what the server says'
            : `see the message; ssh -vvv -p ${host.port} ${host.user ? `${host.user}@` : ''}${host.address} shows what the server says`,
      };
    case 'PERMISSION_DENIED':
    case 'LOG_MISSING':
      // The transports' messages name the fix: log_group, root, or the exact sudoers rule; auditd.conf's log_file.
      return {};
  }
}

/**
 * Checks one host as a sweep would reach it. Resolves with `ok` (the log family as listed, the live log's first
 * bytes read) or `failed` (code, message, remedy); never rejects for a host failure.
 */
export async function checkHost(host: InventoryHost, options: CheckHostOptions): Promise<HostCheck> {
  const started = Date.now();
  const common = {
    host: host.name,
    address: host.address,
    port: host.port,
    transport: host.transport,
    logPath: host.logPath,
  };
  const trustCommand = options.trustCommand ?? ((name: string) => `auditsweep hosts trust ${name}`);
  let stage: CheckStage = 'connect';
  let session: Session | undefined;
  try {
    // A pre-flight never trusts on first use: an unknown key is what it reports, not something to get past.
    session = await connectHost(host, {
      ...options,
      session: { ...options.session, insecureAcceptUnknownHostKeys: false },
    });
    stage = 'transport';
    const transport = await openTransport(host, session);
    stage = 'list';
    const listed = await transport.listLogs(host.logPath);
    stage = 'read';
    // The live log itself, not only its listing: opening it is what fails for a log only root may read.
    const head = await transport.head(host.logPath, options.probeBytes ?? DEFAULT_PROBE_BYTES);
    const files = listed.map(
      (f): CheckedLogFile => ({
        path: f.path,
        name: f.name,
        size: f.size,
        mtime: new Date(f.mtimeMs).toISOString(),
        mode: f.mode,
      }),
    );
    const bytes = listed.reduce((n, f) => n + f.size, 0);
    const live = files.find((f) => f.path === host.logPath);
    const liveName = live?.name ?? host.logPath;
    const facts = session.facts;
    const message =
      `${plural(files.length, 'file')}, ${plural(bytes, 'byte')}; ${liveName} readable over ${transport.kind} as ${facts.user}` +
      (live === undefined ? '' : live.size === 0 ? ' (empty)' : `, last written ${live.mtime}`);
    return {
      ...common,
      status: 'ok',
      user: facts.user,
      hostKey: { keyType: facts.hostKey.keyType, fingerprint: facts.hostKey.fingerprint },
      files,
      bytes,
      probedBytes: head.length,
      message,
      durationMs: Date.now() - started,
    };
  } catch (err) {
    const { code, message } = hostFailure(err);
    return {
      ...common,
      status: 'failed',
      code,
      stage,
      message,
      ...remedyOf(host, code, message, trustCommand),
      durationMs: Date.now() - started,
    };
  } finally {
    await session?.close();
  }
}

/** Bounds as the sweep's (fan-out.ts); `signal` interrupts every check, each host then ending INTERRUPTED. */
export interface CheckFleetOptions extends Omit<CheckHostOptions, 'signal'>, FanOutOptions {
  /** Each result as it comes, with the host's index in `hosts`. */
  readonly onHostDone?: ((result: HostCheck, index: number) => void) | undefined;
}

/**
 * Checks every host with the sweep's bounds: a p-limit fan-out, a separate cap on connection attempts, one
 * credential store (each passphrase asked once) and a deadline per host. Resolves with one result per host, in
 * the order given.
 */
export async function checkFleet(
  hosts: readonly InventoryHost[],
  options: CheckFleetOptions,
): Promise<HostCheck[]> {
  return fanOut(hosts, options, async (host, slot) => {
    const result = await checkHost(host, { ...options, session: slot.session, signal: slot.signal });
    options.onHostDone?.(result, slot.index);
    return result;
  });
}
