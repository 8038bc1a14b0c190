/**
 * Test helper: a fleet of REAL OpenSSH sshd processes on loopback, each with its own host key, port and audit
 * logs, started in parallel and torn down by `stop()`.
 *
 * Layout (root-owned, 0755 unless said otherwise; never under /tmp, because sshd's ChrootDirectory demands
 * that every path component be root-owned and not group/other writable, and /tmp is 1777):
 *
 *   /var/lib/auditsweep-test/           (AUDITSWEEP_FLEET_BASE overrides)
 *     astest.password                   0600, the test user's password, made once per machine
 *     fleets/f-XXXXXX/                  one fleet
 *       owner.json                      pid + start time of the owning process, for the stale-fleet reaper
 *       client/                         0700: id_ed25519 (+.pub), id_ed25519_encrypted, unlisted_ed25519
 *       known_hosts                     every host as `[address]:port ssh-ed25519 …`
 *       <host>/sshd_config, ssh_host_ed25519_key(.pub), authorized_keys, sshd.pid, sshd.log
 *       <host>/root/var/log/audit/      chroot host: the SFTP user sees it as /var/log/audit
 *       <host>/var/log/audit/           host without chroot (default; `logDir` overrides)
 *
 * The test user (default `astest`) is a real local account, created once under an flock so that parallel
 * test files do not race on useradd/chpasswd.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';

const execFileP = promisify(execFile);

const SSHD = '/usr/sbin/sshd';
const SSH_KEYGEN = '/usr/bin/ssh-keygen';
const SUDOERS_DIR = '/etc/sudoers.d';
const SUDOERS_PREFIX = 'auditsweep-test-';
const DEFAULT_USER = 'astest';
const PASSPHRASE = 'auditsweep-test-passphrase';

/** Where a host's log file comes from: a path to copy, or literal content. */
export type LogSource = string | { readonly source: string } | { readonly content: string | Buffer };

export interface FleetHostOptions {
  /** Host name, used for its folder and in messages: letters, digits, `.`, `_`, `-`. */
  readonly name: string;
  /**
   * Files to place in the host's log directory, by file name (`audit.log`, `audit.log.1`, `audit.log.2.gz`).
   * A name ending in `.gz` whose source is not already gzip is compressed on the way. Default: none.
   */
  readonly logs?: Readonly<Record<string, LogSource>>;
  /** Mode of every log file. Default 0o644. Use 0o600 (with owner root) for a permission-denied host. */
  readonly logMode?: number;
  /** Owner of the log files. Default 'root'. */
  readonly logOwner?: 'root' | 'user';
  /** Mode of the log directory itself. Default 0o755. */
  readonly logDirMode?: number;
  /** false: do not create the log directory at all (a host without auditd). Default true. */
  readonly createLogDir?: boolean;
  /**
   * Default true: the test user is chrooted into `<host>/root` with `ForceCommand internal-sftp`, so the logs
   * appear at the canonical /var/log/audit. false: a normal account with exec channels; the logs live at
   * `logDir` inside the host folder and the client sees their real absolute path (`FleetHost.remoteLogDir`).
   */
  readonly chroot?: boolean;
  /** Without chroot: the log directory, relative to the host folder. Default 'var/log/audit'. */
  readonly logDir?: string;
  /** true: the host does not authorize the fleet's client key (it authorizes an unrelated key instead). */
  readonly denyClientKey?: boolean;
  /**
   * Without chroot only: install /etc/sudoers.d/auditsweep-test-<fleet>-<host> letting the test user run, with
   * NOPASSWD, exactly these sudoers command specs (`{logDir}` is replaced by the host's log directory).
   * `true` uses {@link DEFAULT_SUDO_COMMANDS}. Removed by stop().
   */
  readonly sudo?: boolean | { readonly commands: readonly string[] };
  /** Loopback address to listen on (127.0.0.0/8). Default 127.0.0.1. */
  readonly address?: string;
  /** true: `AllowTcpForwarding yes`, so the host can be a jump host. Default false. */
  readonly allowTcpForwarding?: boolean;
  /**
   * sshd's LogLevel (and internal-sftp's). Default VERBOSE; DEBUG1 also logs every forwarding request with its
   * target (`server_request_direct_tcpip: … target ADDRESS port PORT`).
   */
  readonly logLevel?: 'INFO' | 'VERBOSE' | 'DEBUG1' | 'DEBUG2' | 'DEBUG3';
}

export interface SshdFleetOptions {
  readonly hosts: readonly FleetHostOptions[];
  /** Login name of the test user. Default 'astest'. */
  readonly user?: string;
  /** How long one sshd may take to listen. Default 10 s. */
  readonly startTimeoutMs?: number;
}

/** Read commands a sudo transport may need on a log directory; sudoers wildcards, `{logDir}` substituted. */
export const DEFAULT_SUDO_COMMANDS: readonly string[] = [
  '/usr/bin/cat {logDir}/*',
  '/usr/bin/stat {logDir}, /usr/bin/stat {logDir}/*, /usr/bin/stat -c * {logDir}/*, /usr/bin/stat -L -c * {logDir}/*',
  '/usr/bin/ls {logDir}, /usr/bin/ls * {logDir}, /usr/bin/ls * {logDir}/*',
  '/usr/bin/tail -c +* {logDir}/*',
  '/usr/bin/head -c * {logDir}/*',
  '/usr/bin/dd if={logDir}/* *',
  '/usr/bin/test -r {logDir}/*, /usr/bin/test -e {logDir}/*',
  '/usr/bin/wc -c {logDir}/*',
];

export interface FleetHost {
  readonly name: string;
  readonly address: string;
  readonly port: number;
  /** The host's folder inside the fleet. */
  readonly dir: string;
  readonly chroot: boolean;
  /** Real path of the log directory on this machine. */
  readonly logDir: string;
  /** The log directory as the SSH client sees it: '/var/log/audit' when chrooted, else `logDir`. */
  readonly remoteLogDir: string;
  /** OpenSSH public key line `ssh-ed25519 AAAA…` (no comment). Updated by {@link replaceHostKey}. */
  readonly hostKeyPublic: string;
  /** `SHA256:…` exactly as `ssh-keygen -lf` prints it. Updated by {@link replaceHostKey}. */
  readonly hostKeyFingerprint: string;
  /** Path of the host's private key; the public one is beside it with `.pub`. */
  readonly hostKeyFile: string;
  /** sshd's own log (-E; LogLevel VERBOSE unless the host says otherwise): print it when a test fails. */
  readonly sshdLogFile: string;
  /** Sudoers drop-in installed for this host, if any. */
  readonly sudoersFile: string | undefined;
  /** pid of the listening sshd. Changes on {@link replaceHostKey}. */
  readonly pid: number;
}

export interface SshdFleet {
  /** The fleet's folder (removed by stop()). */
  readonly dir: string;
  readonly hosts: readonly FleetHost[];
  /** The host with that name; throws if there is none. */
  host(name: string): FleetHost;
  /** The test user's login name, uid and gid. */
  readonly user: string;
  readonly uid: number;
  readonly gid: number;
  readonly password: string;
  /** Unencrypted ed25519 private key (OpenSSH format), authorized on every host without `denyClientKey`. */
  readonly clientKey: string;
  /** `ssh-ed25519 AAAA… comment` of clientKey. */
  readonly clientKeyPublic: string;
  /** The same kind of key, encrypted with {@link SshdFleet.passphrase}; also authorized. */
  readonly encryptedClientKey: string;
  readonly passphrase: string;
  /** A valid key that no host authorizes. */
  readonly unlistedClientKey: string;
  /** known_hosts listing every host's key at start (as `[address]:port`); not rewritten by replaceHostKey. */
  readonly knownHostsFile: string;
  /** Every host's sshd log, headed by its name: attach it to a failing test's message. */
  logs(): Promise<string>;
  /** Kills every sshd of the fleet with all its sessions, removes sudoers drop-ins and the fleet folder. */
  stop(): Promise<void>;
}

interface HostState {
  readonly fleet: FleetState;
  readonly opts: FleetHostOptions;
  readonly host: MutableHost;
  child: ChildProcess | undefined;
}

type MutableHost = { -readonly [K in keyof FleetHost]: FleetHost[K] };

interface FleetState {
  readonly dir: string;
  readonly user: string;
  readonly uid: number;
  readonly gid: number;
  readonly startTimeoutMs: number;
  readonly hosts: HostState[];
  readonly sudoersFiles: string[];
  stopped: boolean;
}

const hostStates = new WeakMap<FleetHost, HostState>();
const liveFleets = new Set<FleetState>();
let exitHookInstalled = false;

function baseDir(): string {
  return process.env.AUDITSWEEP_FLEET_BASE ?? '/var/lib/auditsweep-test';
}

/**
 * Starts one sshd per host option, in parallel, and resolves once every one of them listens.
 * Throws (never skips) when OpenSSH is missing or the process is not root.
 */
export async function startSshdFleet(options: SshdFleetOptions): Promise<SshdFleet> {
  checkPrerequisites(options);
  const user = options.user ?? DEFAULT_USER;
  if (!/^[a-z_][a-z0-9_-]{0,30}$/.test(user))
    throw new Error(`sshd-fleet: invalid user name ${JSON.stringify(user)}`);
  const names = new Set<string>();
  for (const h of options.hosts) {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(h.name)) {
      throw new Error(`sshd-fleet: invalid host name ${JSON.stringify(h.name)}`);
    }
    if (names.has(h.name)) throw new Error(`sshd-fleet: duplicate host name ${h.name}`);
    names.add(h.name);
    if (h.address !== undefined && !/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h.address)) {
      throw new Error(`sshd-fleet: ${h.name}: address must be in 127.0.0.0/8, got ${h.address}`);
    }
    if (h.sudo && h.chroot !== false) throw new Error(`sshd-fleet: ${h.name}: sudo needs chroot: false`);
  }

  const base = baseDir();
  const fleetsDir = path.join(base, 'fleets');
  await fs.mkdir(fleetsDir, { recursive: true, mode: 0o755 });
  await fs.chmod(base, 0o755);
  await fs.chmod(fleetsDir, 0o755);
  await fs.mkdir('/run/sshd', { recursive: true, mode: 0o755 }); // privilege separation directory
  reapStaleFleets(fleetsDir);

  const { uid, gid, password } = await ensureUser(user, base);

  const dir = await fs.mkdtemp(path.join(fleetsDir, 'f-'));
  await fs.chmod(dir, 0o755);
  await fs.writeFile(
    path.join(dir, 'owner.json'),
    JSON.stringify({ pid: process.pid, start: processStartTime(process.pid) }),
  );
  const state: FleetState = {
    dir,
    user,
    uid,
    gid,
    startTimeoutMs: options.startTimeoutMs ?? 10_000,
    hosts: [],
    sudoersFiles: [],
    stopped: false,
  };
  liveFleets.add(state);
  installExitHook();

  try {
    const clientDir = path.join(dir, 'client');
    await fs.mkdir(clientDir, { mode: 0o700 });
    const clientKey = path.join(clientDir, 'id_ed25519');
    const encryptedClientKey = path.join(clientDir, 'id_ed25519_encrypted');
    const unlistedClientKey = path.join(clientDir, 'unlisted_ed25519');
    await Promise.all([
      keygen(clientKey, '', `${user}@auditsweep-test`),
      // -a 4: few bcrypt rounds, the test only needs a key that really is encrypted.
      keygen(encryptedClientKey, PASSPHRASE, `${user}-encrypted@auditsweep-test`, ['-a', '4']),
      keygen(unlistedClientKey, '', 'unlisted@auditsweep-test'),
    ]);
    const clientKeyPublic = (await fs.readFile(`${clientKey}.pub`, 'utf8')).trim();
    const encryptedPublic = (await fs.readFile(`${encryptedClientKey}.pub`, 'utf8')).trim();
    const unlistedPublic = (await fs.readFile(`${unlistedClientKey}.pub`, 'utf8')).trim();

    // allSettled, not all: on a failure every sibling must have finished starting before stopFleet runs,
    // or a late sshd would outlive the fleet.
    const started = await Promise.allSettled(
      options.hosts.map(async (opts) => {
        const hs = await prepareHost(state, opts, {
          authorized: opts.denyClientKey ? [unlistedPublic] : [clientKeyPublic, encryptedPublic],
        });
        state.hosts.push(hs);
        await startHostSshd(hs, true);
      }),
    );
    const failed = started.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    // Keep the caller's order (hosts were pushed as they finished preparing).
    state.hosts.sort(
      (a, b) =>
        options.hosts.findIndex((o) => o.name === a.opts.name) -
        options.hosts.findIndex((o) => o.name === b.opts.name),
    );

    const knownHostsFile = path.join(dir, 'known_hosts');
    await fs.writeFile(
      knownHostsFile,
      state.hosts.map((h) => `[${h.host.address}]:${h.host.port} ${h.host.hostKeyPublic}\n`).join(''),
      { mode: 0o644 },
    );

    const hosts: FleetHost[] = state.hosts.map((h) => h.host);
    return {
      dir,
      hosts,
      host(name: string): FleetHost {
        const found = hosts.find((h) => h.name === name);
        if (!found) throw new Error(`sshd-fleet: no host named ${name}`);
        return found;
      },
      user,
      uid,
      gid,
      password,
      clientKey,
      clientKeyPublic,
      encryptedClientKey,
      passphrase: PASSPHRASE,
      unlistedClientKey,
      knownHostsFile,
      logs: () => fleetLogs(state),
      stop: () => stopFleet(state),
    };
  } catch (err) {
    const logs = await fleetLogs(state).catch(() => '');
    await stopFleet(state);
    if (err instanceof Error && logs && !err.message.includes('sshd log')) {
      err.message += `\n--- sshd logs ---\n${logs}`;
    }
    throw err;
  }
}

function checkPrerequisites(options: SshdFleetOptions): void {
  if (!existsSync(SSHD)) {
    throw new Error(
      `sshd-fleet: ${SSHD} is missing. Install the Debian package openssh-server (apt-get install -y openssh-server).`,
    );
  }
  if (!existsSync(SSH_KEYGEN)) {
    throw new Error(
      `sshd-fleet: ${SSH_KEYGEN} is missing. Install the Debian package openssh-client (apt-get install -y openssh-client).`,
    );
  }
  if (options.hosts.some((h) => h.sudo) && !existsSync('/usr/bin/sudo')) {
    throw new Error(
      'sshd-fleet: /usr/bin/sudo is missing. Install the Debian package sudo (apt-get install -y sudo).',
    );
  }
  if (process.getuid?.() !== 0) {
    throw new Error(
      'sshd-fleet: must run as root (it creates a local test user and chrooted sshd processes).',
    );
  }
}

async function keygen(
  file: string,
  passphrase: string,
  comment: string,
  extra: string[] = [],
): Promise<void> {
  await execFileP(SSH_KEYGEN, ['-q', '-t', 'ed25519', '-N', passphrase, '-C', comment, ...extra, '-f', file]);
}

/** `SHA256:…` of a public key file, from ssh-keygen itself (independent of the code under test). */
async function keygenFingerprint(pubFile: string): Promise<string> {
  const { stdout } = await execFileP(SSH_KEYGEN, ['-l', '-E', 'sha256', '-f', pubFile]);
  const fp = stdout.split(/\s+/)[1];
  if (!fp?.startsWith('SHA256:')) throw new Error(`sshd-fleet: unexpected ssh-keygen -lf output: ${stdout}`);
  return fp;
}

/**
 * Creates the user if missing and (re)sets its password from a root-only file, all under one flock so that
 * parallel test workers never run useradd/chpasswd at the same time.
 */
async function ensureUser(
  user: string,
  base: string,
): Promise<{ uid: number; gid: number; password: string }> {
  const pwFile = path.join(base, `${user}.password`);
  const script = [
    'set -e',
    'user="$1"; pwfile="$2"',
    'if ! id -u "$user" >/dev/null 2>&1; then useradd -m -s /bin/bash -c "auditsweep test user" "$user"; fi',
    'if [ ! -s "$pwfile" ]; then',
    '  umask 077',
    '  head -c 18 /dev/urandom | base64 | tr -d "/+=\\n" > "$pwfile.tmp"',
    '  mv "$pwfile.tmp" "$pwfile"',
    'fi',
    'printf "%s:%s\\n" "$user" "$(cat "$pwfile")" | chpasswd',
    'echo "$(id -u "$user") $(id -g "$user")"',
  ].join('\n');
  let stdout: string;
  try {
    ({ stdout } = await execFileP('flock', [
      path.join(base, 'user.lock'),
      'sh',
      '-c',
      script,
      'sh',
      user,
      pwFile,
    ]));
  } catch (err) {
    throw new Error(`sshd-fleet: could not create test user ${user}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const [uid, gid] = stdout.trim().split(' ').map(Number);
  if (uid === undefined || gid === undefined || Number.isNaN(uid) || Number.isNaN(gid)) {
    throw new Error(`sshd-fleet: cannot read uid/gid of ${user}: ${stdout}`);
  }
  return { uid, gid, password: (await fs.readFile(pwFile, 'utf8')).trim() };
}

async function prepareHost(
  fleet: FleetState,
  opts: FleetHostOptions,
  keys: { authorized: string[] },
): Promise<HostState> {
  const dir = path.join(fleet.dir, opts.name);
  await fs.mkdir(dir, { mode: 0o755 });
  await fs.chmod(dir, 0o755);
  const chroot = opts.chroot ?? true;
  const logDir = chroot
    ? path.join(dir, 'root', 'var', 'log', 'audit')
    : path.resolve(dir, opts.logDir ?? 'var/log/audit');
  if (!chroot && !logDir.startsWith(`${dir}/`)) {
    throw new Error(`sshd-fleet: ${opts.name}: logDir must stay inside the host folder, got ${opts.logDir}`);
  }
  // Every folder between the host folder and the log folder: root-owned 0755 (the chroot rules, and traversable).
  const parent = path.dirname(logDir);
  await fs.mkdir(parent, { recursive: true, mode: 0o755 });
  for (let d = parent; d.startsWith(dir) && d !== dir; d = path.dirname(d)) await fs.chmod(d, 0o755);

  if (opts.createLogDir ?? true) {
    await fs.mkdir(logDir, { mode: 0o755 });
    const uid = opts.logOwner === 'user' ? fleet.uid : 0;
    const gid = opts.logOwner === 'user' ? fleet.gid : 0;
    for (const [file, source] of Object.entries(opts.logs ?? {})) {
      checkFileName(file);
      const target = path.join(logDir, file);
      await fs.writeFile(target, await logBytes(file, source));
      await fs.chown(target, uid, gid);
      await fs.chmod(target, opts.logMode ?? 0o644);
    }
    await fs.chmod(logDir, opts.logDirMode ?? 0o755);
  }

  const hostKeyFile = path.join(dir, 'ssh_host_ed25519_key');
  await keygen(hostKeyFile, '', `${opts.name}@auditsweep-test`);
  const authorizedKeys = path.join(dir, 'authorized_keys');
  // sshd reads this as the user (temporarily_use_uid), so it must be world-readable.
  await fs.writeFile(authorizedKeys, keys.authorized.map((k) => `${k}\n`).join(''), { mode: 0o644 });

  let sudoersFile: string | undefined;
  if (opts.sudo) {
    const commands = opts.sudo === true ? DEFAULT_SUDO_COMMANDS : opts.sudo.commands;
    sudoersFile = path.join(
      SUDOERS_DIR,
      `${SUDOERS_PREFIX}${path.basename(fleet.dir)}-${opts.name.replace(/\./g, '_')}`,
    );
    const body = `${commands.map((c) => `${fleet.user} ALL=(root) NOPASSWD: ${c.replaceAll('{logDir}', logDir)}`).join('\n')}\n`;
    // A name with a dot is ignored by sudo's @includedir: write there, check it, then rename into place.
    const tmp = `${sudoersFile}.tmp`;
    await fs.writeFile(tmp, body, { mode: 0o440 });
    try {
      await execFileP('visudo', ['-c', '-q', '-f', tmp]);
    } catch (err) {
      await fs.rm(tmp, { force: true });
      throw new Error(`sshd-fleet: ${opts.name}: sudoers drop-in rejected by visudo:\n${body}`, {
        cause: err,
      });
    }
    fleet.sudoersFiles.push(sudoersFile);
    await fs.rename(tmp, sudoersFile);
  }

  const host: MutableHost = {
    name: opts.name,
    address: opts.address ?? '127.0.0.1',
    port: 0,
    dir,
    chroot,
    logDir,
    remoteLogDir: chroot ? '/var/log/audit' : logDir,
    hostKeyPublic: '',
    hostKeyFingerprint: '',
    hostKeyFile,
    sshdLogFile: path.join(dir, 'sshd.log'),
    sudoersFile,
    pid: 0,
  };
  await readHostKey(host);
  const hs: HostState = { fleet, opts, host, child: undefined };
  hostStates.set(host, hs);
  return hs;
}

async function readHostKey(host: MutableHost): Promise<void> {
  const pub = (await fs.readFile(`${host.hostKeyFile}.pub`, 'utf8')).trim().split(/\s+/);
  host.hostKeyPublic = `${pub[0]} ${pub[1]}`;
  host.hostKeyFingerprint = await keygenFingerprint(`${host.hostKeyFile}.pub`);
}

function checkFileName(file: string): void {
  if (file === '' || file === '.' || file === '..' || file.includes('/')) {
    throw new Error(`sshd-fleet: log file name must be a plain file name, got ${JSON.stringify(file)}`);
  }
}

async function logBytes(file: string, source: LogSource): Promise<Buffer> {
  let bytes: Buffer;
  if (typeof source === 'string') bytes = await fs.readFile(source);
  else if ('source' in source) bytes = await fs.readFile(source.source);
  else bytes = Buffer.isBuffer(source.content) ? source.content : Buffer.from(source.content);
  const isGzip = bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
  return file.endsWith('.gz') && !isGzip ? gzipSync(bytes) : bytes;
}

function sshdConfig(hs: HostState): string {
  const { host, opts, fleet } = hs;
  const lines = [
    `# auditsweep test fleet host ${host.name}`,
    `Port ${host.port}`,
    `ListenAddress ${host.address}`,
    `HostKey ${host.hostKeyFile}`,
    `PidFile ${path.join(host.dir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${path.join(host.dir, 'authorized_keys')}`,
    'StrictModes no',
    // Password authentication works without PAM: sshd checks /etc/shadow itself.
    'UsePAM no',
    'PasswordAuthentication yes',
    'PermitEmptyPasswords no',
    'KbdInteractiveAuthentication no',
    'PubkeyAuthentication yes',
    'PermitRootLogin no',
    `AllowUsers ${fleet.user}`,
    'UseDNS no',
    'PrintMotd no',
    'PrintLastLog no',
    `LogLevel ${opts.logLevel ?? 'VERBOSE'}`,
    'LoginGraceTime 30',
    'MaxAuthTries 10',
    'MaxStartups 100:30:200',
    'MaxSessions 50',
    'X11Forwarding no',
    `AllowTcpForwarding ${opts.allowTcpForwarding ? 'yes' : 'no'}`,
    'AllowAgentForwarding no',
    `Subsystem sftp internal-sftp -l ${opts.logLevel ?? 'VERBOSE'}`,
  ];
  if (opts.chroot ?? true) {
    lines.push(
      `Match User ${fleet.user}`,
      `  ChrootDirectory ${path.join(host.dir, 'root')}`,
      `  ForceCommand internal-sftp -l ${opts.logLevel ?? 'VERBOSE'}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** Picks a port the kernel says is free on `address`; sshd binds it a moment later (retried if it lost a race). */
function freePort(address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, address, () => {
      const a = srv.address();
      srv.close(() => (a && typeof a === 'object' ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

async function startHostSshd(hs: HostState, pickPort: boolean): Promise<void> {
  const attempts = 5;
  for (let attempt = 1; ; attempt++) {
    if (pickPort) hs.host.port = await freePort(hs.host.address);
    const configFile = path.join(hs.host.dir, 'sshd_config');
    await fs.writeFile(configFile, sshdConfig(hs), { mode: 0o644 });
    const logStart = await fs
      .stat(hs.host.sshdLogFile)
      .then((s) => s.size)
      .catch(() => 0);
    const outcome = await spawnAndWait(hs, configFile, logStart);
    if (outcome === 'listening') return;
    if (outcome === 'address-in-use' && attempt < attempts) {
      // Someone took the port between our probe and sshd's bind (or the old sshd's socket lingers).
      await sleep(50 * attempt);
      continue;
    }
    const log = await readLogFrom(hs.host.sshdLogFile, logStart);
    throw new Error(
      `sshd-fleet: sshd for ${hs.host.name} on ${hs.host.address}:${hs.host.port} did not start (${outcome}).\n` +
        `--- sshd log (${hs.host.sshdLogFile}) ---\n${log}`,
    );
  }
}

type StartOutcome = 'listening' | 'address-in-use' | 'exited' | 'timeout';

async function spawnAndWait(hs: HostState, configFile: string, logStart: number): Promise<StartOutcome> {
  const child = spawn(SSHD, ['-D', '-e', '-E', hs.host.sshdLogFile, '-f', configFile], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (d: string) => {
    stderr += d;
  });
  child.on('error', (err) => {
    stderr += `spawn error: ${err.message}\n`;
  });
  hs.child = child;
  hs.host.pid = child.pid ?? 0;
  const deadline = Date.now() + hs.fleet.startTimeoutMs;
  for (;;) {
    const log = await readLogFrom(hs.host.sshdLogFile, logStart);
    if (/Server listening on /.test(log)) return 'listening';
    if (child.exitCode !== null || child.signalCode !== null) {
      if (stderr) await fs.appendFile(hs.host.sshdLogFile, stderr);
      hs.child = undefined;
      return /Address already in use|Cannot bind any address/.test(log + stderr)
        ? 'address-in-use'
        : 'exited';
    }
    if (Date.now() > deadline) {
      await killTree(child.pid ?? 0, child);
      hs.child = undefined;
      return 'timeout';
    }
    await sleep(15);
  }
}

async function readLogFrom(file: string, offset: number): Promise<string> {
  try {
    const buf = await fs.readFile(file);
    return buf.subarray(offset).toString('utf8');
  } catch {
    return '';
  }
}

async function fleetLogs(fleet: FleetState): Promise<string> {
  const parts = await Promise.all(
    fleet.hosts.map(
      async (h) =>
        `=== ${h.host.name} (${h.host.sshdLogFile}) ===\n${await readLogFrom(h.host.sshdLogFile, 0)}`,
    ),
  );
  return parts.join('\n');
}

async function stopFleet(fleet: FleetState): Promise<void> {
  if (fleet.stopped) return;
  fleet.stopped = true;
  try {
    await Promise.all(fleet.hosts.map((h) => stopHostSshd(h)));
  } finally {
    for (const f of fleet.sudoersFiles) await fs.rm(f, { force: true });
    await fs.rm(fleet.dir, { recursive: true, force: true });
    liveFleets.delete(fleet);
  }
}

async function stopHostSshd(hs: HostState): Promise<void> {
  const child = hs.child;
  hs.child = undefined;
  if (child?.pid === undefined) return;
  await killTree(child.pid, child);
}

// ---------------------------------------------------------------------------------------------------------
// Process trees. sshd puts every connection in its own session (setsid), so a process-group kill would miss
// them: collect the listener's descendants from /proc before signalling, since orphans get reparented.

function processParents(): Map<number, number> {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parents.set(Number(entry), Number(rest[1]));
    } catch {
      // gone meanwhile
    }
  }
  return parents;
}

/** `pid` and every process below it. */
export function processTree(pid: number): number[] {
  if (!Number.isInteger(pid) || pid <= 1) return []; // a host not (yet) started has pid 0
  const parents = processParents();
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) {
    for (const [child, parent] of parents) if (parent === tree[i]) tree.push(child);
  }
  return tree;
}

/** True when the process no longer runs (absent, or a zombie nobody reaps: PID 1 here may not). */
export function isGone(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state === 'Z' || state === 'X';
  } catch {
    return true;
  }
}

function signalAll(pids: number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

async function killTree(pid: number, child: ChildProcess | undefined): Promise<void> {
  if (pid <= 0) return;
  const exited = child
    ? new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) resolve();
        else child.once('exit', () => resolve());
      })
    : Promise.resolve();
  const pids = processTree(pid);
  signalAll(pids, 'SIGTERM');
  if (!(await waitGone(pids, 3000))) {
    signalAll(
      pids.filter((p) => !isGone(p)),
      'SIGKILL',
    );
    if (!(await waitGone(pids, 3000))) {
      throw new Error(`sshd-fleet: processes survived SIGKILL: ${pids.filter((p) => !isGone(p)).join(' ')}`);
    }
  }
  await exited;
}

async function waitGone(pids: number[], ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (pids.some((p) => !isGone(p))) {
    if (Date.now() > deadline) return false;
    await sleep(10);
  }
  return true;
}

function killTreeSync(pid: number): void {
  signalAll(processTree(pid), 'SIGKILL');
}

function processStartTime(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? '';
  } catch {
    return '';
  }
}

/** A crashed test process leaves its fleet behind; the next fleet start removes fleets whose owner is gone. */
function reapStaleFleets(fleetsDir: string): void {
  let entries: string[];
  try {
    entries = readdirSync(fleetsDir);
  } catch {
    return;
  }
  for (const entry of entries) {
    const dir = path.join(fleetsDir, entry);
    let owner: { pid?: number; start?: string } | undefined;
    try {
      owner = JSON.parse(readFileSync(path.join(dir, 'owner.json'), 'utf8')) as {
        pid?: number;
        start?: string;
      };
    } catch {
      // No owner file: either being created right now or broken; only reap it once it is old.
      try {
        if (Date.now() - statSync(dir).mtimeMs < 60_000) continue;
      } catch {
        continue;
      }
    }
    if (owner?.pid !== undefined && !isGone(owner.pid) && processStartTime(owner.pid) === owner.start)
      continue;
    reapFleetDir(dir);
  }
  // Drop-ins whose fleet is gone.
  try {
    for (const f of readdirSync(SUDOERS_DIR)) {
      const m = /^auditsweep-test-(f-[A-Za-z0-9]+)-/.exec(f);
      if (m?.[1] && !existsSync(path.join(fleetsDir, m[1])))
        rmSync(path.join(SUDOERS_DIR, f), { force: true });
    }
  } catch {
    // no sudoers.d
  }
}

function reapFleetDir(dir: string): void {
  try {
    for (const host of readdirSync(dir)) {
      const pidFile = path.join(dir, host, 'sshd.pid');
      if (!existsSync(pidFile)) continue;
      const pid = Number(readFileSync(pidFile, 'utf8').trim());
      if (!Number.isInteger(pid) || pid <= 1) continue;
      let cmdline = '';
      try {
        cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      } catch {
        continue;
      }
      // Only an sshd started for this very fleet folder (pids get reused).
      if (cmdline.includes(dir)) killTreeSync(pid);
    }
  } catch {
    // gone meanwhile
  }
  const id = path.basename(dir);
  try {
    for (const f of readdirSync(SUDOERS_DIR)) {
      if (f.startsWith(`${SUDOERS_PREFIX}${id}-`)) rmSync(path.join(SUDOERS_DIR, f), { force: true });
    }
  } catch {
    // no sudoers.d
  }
  rmSync(dir, { recursive: true, force: true });
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const fleet of liveFleets) {
      for (const h of fleet.hosts) if (h.child?.pid !== undefined) killTreeSync(h.child.pid);
      for (const f of fleet.sudoersFiles) rmSync(f, { force: true });
      rmSync(fleet.dir, { recursive: true, force: true });
    }
  });
}

function stateOf(host: FleetHost): HostState {
  const hs = hostStates.get(host);
  if (!hs) throw new Error(`sshd-fleet: ${host.name} is not a host of a running fleet`);
  if (hs.fleet.stopped) throw new Error(`sshd-fleet: the fleet of ${host.name} was stopped`);
  return hs;
}

// ---------------------------------------------------------------------------------------------------------
// What tests do to a running fleet.

/** Appends `text` to one of the host's log files (creating it, root-owned 0644, if missing). */
export async function appendToLog(host: FleetHost, file: string, text: string | Buffer): Promise<void> {
  stateOf(host);
  checkFileName(file);
  await fs.appendFile(path.join(host.logDir, file), text);
}

export interface RotateOptions {
  /** Content of the fresh audit.log. Default empty. */
  readonly newContent?: string | Buffer;
}

/**
 * Rotates like auditd's `max_log_file_action = ROTATE`: audit.log.N → audit.log.N+1 (a `.gz` suffix is kept),
 * audit.log → audit.log.1, and a fresh audit.log with the old one's owner and mode.
 */
export async function rotateLog(host: FleetHost, options: RotateOptions = {}): Promise<void> {
  stateOf(host);
  const dir = host.logDir;
  const numbered = (await fs.readdir(dir))
    .map((f) => /^audit\.log\.(\d+)(\.gz)?$/.exec(f))
    .filter((m): m is RegExpExecArray => m !== null)
    .sort((a, b) => Number(b[1]) - Number(a[1]));
  for (const m of numbered) {
    await fs.rename(path.join(dir, m[0]), path.join(dir, `audit.log.${Number(m[1]) + 1}${m[2] ?? ''}`));
  }
  const current = path.join(dir, 'audit.log');
  const st = await fs.stat(current).catch(() => undefined);
  if (st) await fs.rename(current, path.join(dir, 'audit.log.1'));
  await fs.writeFile(current, options.newContent ?? '');
  await fs.chown(current, st?.uid ?? 0, st?.gid ?? 0);
  await fs.chmod(current, st ? st.mode & 0o7777 : 0o644);
}

/**
 * Restarts the host's sshd, on the same address and port, with a freshly generated host key: the fleet's
 * known_hosts then holds a stale key for it (a "changed host key"). Open sessions to it are killed.
 */
export async function replaceHostKey(
  host: FleetHost,
): Promise<{ hostKeyPublic: string; hostKeyFingerprint: string }> {
  const hs = stateOf(host);
  await stopHostSshd(hs);
  await fs.rm(hs.host.hostKeyFile, { force: true });
  await fs.rm(`${hs.host.hostKeyFile}.pub`, { force: true });
  await keygen(hs.host.hostKeyFile, '', `${host.name}-replaced@auditsweep-test`);
  await readHostKey(hs.host);
  await startHostSshd(hs, false);
  return { hostKeyPublic: hs.host.hostKeyPublic, hostKeyFingerprint: hs.host.hostKeyFingerprint };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// Exported for the helper's own test: the sshd-related pids now alive under a host's listener.
export function sshdProcesses(host: FleetHost): number[] {
  return processTree(host.pid).filter((p) => !isGone(p));
}
