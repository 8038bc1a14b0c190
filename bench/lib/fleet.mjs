// A fleet of real OpenSSH sshd processes on loopback for benchmarks: plain .mjs, so that `node bench/…` runs it
// without a TypeScript loader. It follows test/helpers/sshd-fleet.ts (same chroot layout, same test user and
// the same flock around useradd/chpasswd) with only what a benchmark needs: one sshd per host, each with its
// own host key, port and log, the user chrooted with `ForceCommand internal-sftp`, so the log appears at
// /var/log/audit/audit.log.
//
//   /var/lib/auditsweep-bench/fleets/f-XXXXXX/      (root-owned 0755: ChrootDirectory demands it, so not /tmp)
//     owner.json                                    pid + start time, for the stale-fleet reaper
//     client/id_ed25519(.pub)                       the client key, authorized on every host
//     known_hosts                                   `[127.0.0.1]:PORT ssh-ed25519 …` for every host
//     <host>/sshd_config, ssh_host_ed25519_key, authorized_keys, sshd.log
//     <host>/root/var/log/audit/audit.log           hard link to (or copy of) the source log
//
// Logging is LogLevel INFO (not the test helper's VERBOSE) so that sshd's own logging costs as little as
// possible inside a timed run; failures still leave one line per session in sshd.log.
import { execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { isGone, processTree, processTrees, signalAll, sleep } from './proc.mjs';

const execFileP = promisify(execFile);

const SSHD = '/usr/sbin/sshd';
const SSH_KEYGEN = '/usr/bin/ssh-keygen';
const DEFAULT_BASE = '/var/lib/auditsweep-bench';
/** The test helper's folder: its user lock and password file are shared, so tests and benches never race. */
const TEST_BASE = process.env.AUDITSWEEP_FLEET_BASE ?? '/var/lib/auditsweep-test';
const USER = 'astest';

const liveFleets = new Set();
let hooksInstalled = false;

/**
 * Starts one sshd per host, `parallel` at a time, and resolves once every one listens.
 * hosts: [{ name, log }] where `log` is the path of the file served as /var/log/audit/audit.log.
 * Resolves with { dir, user, clientKey, knownHostsFile, hosts: [{ name, address, port, pid, logFile }], stop }.
 */
export async function startFleet({ hosts, address = '127.0.0.1', parallel = 16, base = DEFAULT_BASE }) {
  if (process.getuid?.() !== 0) throw new Error('fleet: must run as root (chrooted sshd, a local test user)');
  for (const bin of [SSHD, SSH_KEYGEN]) {
    if (!existsSync(bin)) throw new Error(`fleet: ${bin} is missing: apt-get install -y openssh-server`);
  }
  if (!/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(address)) throw new Error(`fleet: ${address} is not loopback`);
  const fleetsDir = path.join(base, 'fleets');
  await fs.mkdir(fleetsDir, { recursive: true, mode: 0o755 });
  await fs.chmod(base, 0o755);
  await fs.chmod(fleetsDir, 0o755);
  await fs.mkdir('/run/sshd', { recursive: true, mode: 0o755 }); // privilege separation directory
  reapStaleFleets(fleetsDir);
  await ensureUser();

  const dir = await fs.mkdtemp(path.join(fleetsDir, 'f-'));
  await fs.chmod(dir, 0o755);
  await fs.writeFile(
    path.join(dir, 'owner.json'),
    JSON.stringify({ pid: process.pid, start: processStartTime(process.pid) }),
  );
  const state = { dir, hosts: [], stopped: false };
  liveFleets.add(state);
  installHooks();

  try {
    const clientDir = path.join(dir, 'client');
    await fs.mkdir(clientDir, { mode: 0o700 });
    const clientKey = path.join(clientDir, 'id_ed25519');
    await keygen(clientKey, `${USER}@auditsweep-bench`);
    const clientKeyPublic = (await fs.readFile(`${clientKey}.pub`, 'utf8')).trim();

    let next = 0;
    const worker = async () => {
      while (next < hosts.length) {
        const spec = hosts[next++];
        const hs = await prepareHost(dir, spec, address, clientKeyPublic);
        state.hosts.push(hs);
        await startSshd(hs);
      }
    };
    const started = await Promise.allSettled(Array.from({ length: Math.max(1, parallel) }, worker));
    const failed = started.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    const order = new Map(hosts.map((h, i) => [h.name, i]));
    state.hosts.sort((a, b) => order.get(a.name) - order.get(b.name));

    const knownHostsFile = path.join(dir, 'known_hosts');
    await fs.writeFile(
      knownHostsFile,
      state.hosts.map((h) => `[${h.address}]:${h.port} ${h.hostKeyPublic}\n`).join(''),
      { mode: 0o644 },
    );
    return {
      dir,
      user: USER,
      clientKey,
      knownHostsFile,
      hosts: state.hosts.map(({ name, address: a, port, pid, logFile, sshdLog }) => ({
        name,
        address: a,
        port,
        pid,
        logFile,
        sshdLog,
      })),
      /** pids of every sshd of the fleet (listeners and session processes) alive now. */
      processes: () => processTrees(state.hosts.map((h) => h.pid)).filter((p) => !isGone(p)),
      /** Kills every sshd of the fleet with its sessions; removes the fleet folder unless keepDir. */
      stop: ({ keepDir = false } = {}) => stopFleet(state, keepDir),
    };
  } catch (err) {
    await stopFleet(state);
    throw err;
  }
}

async function keygen(file, comment) {
  await execFileP(SSH_KEYGEN, ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file]);
}

/** The test helper's user setup, verbatim in effect: create astest once, (re)set its password, under flock. */
async function ensureUser() {
  await fs.mkdir(TEST_BASE, { recursive: true, mode: 0o755 });
  const pwFile = path.join(TEST_BASE, `${USER}.password`);
  const script = [
    'set -e',
    'user="$1"; pwfile="$2"',
    'if ! id -u "$user" >/dev/null 2>&1; then useradd -m -s /bin/bash -c "auditsweep test user" "$user"; fi',
    'if [ ! -s "$pwfile" ]; then',
    '  umask 077',
    '  head -c 18 /dev/urandom | base64 | tr -d "/+=\\n" > "$pwfile.tmp"',
    '  mv "$pwfile.tmp" "$pwfile"',
    'fi',
    // A locked account (no password) is refused by sshd even for public keys when UsePAM is off.
    'printf "%s:%s\\n" "$user" "$(cat "$pwfile")" | chpasswd',
  ].join('\n');
  await execFileP('flock', [path.join(TEST_BASE, 'user.lock'), 'sh', '-c', script, 'sh', USER, pwFile]);
}

async function prepareHost(fleetDir, spec, address, clientKeyPublic) {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(spec.name))
    throw new Error(`fleet: bad host name ${spec.name}`);
  const dir = path.join(fleetDir, spec.name);
  const logDir = path.join(dir, 'root', 'var', 'log', 'audit');
  await fs.mkdir(logDir, { recursive: true, mode: 0o755 });
  for (let d = logDir; d !== fleetDir; d = path.dirname(d)) await fs.chmod(d, 0o755);
  const logFile = path.join(logDir, 'audit.log');
  // A hard link costs nothing and is a separate name for sshd; across file systems, copy.
  await fs.link(spec.log, logFile).catch(() => fs.copyFile(spec.log, logFile));
  await fs.chown(logFile, 0, 0);
  await fs.chmod(logFile, 0o644);
  const hostKeyFile = path.join(dir, 'ssh_host_ed25519_key');
  await keygen(hostKeyFile, `${spec.name}@auditsweep-bench`);
  const pub = (await fs.readFile(`${hostKeyFile}.pub`, 'utf8')).trim().split(/\s+/);
  // sshd reads authorized_keys as the user, so it must be world-readable.
  await fs.writeFile(path.join(dir, 'authorized_keys'), `${clientKeyPublic}\n`, { mode: 0o644 });
  return {
    name: spec.name,
    dir,
    address,
    port: 0,
    pid: 0,
    child: undefined,
    logFile,
    hostKeyFile,
    hostKeyPublic: `${pub[0]} ${pub[1]}`,
    sshdLog: path.join(dir, 'sshd.log'),
  };
}

function sshdConfig(hs) {
  return `${[
    `# auditsweep bench fleet host ${hs.name}`,
    `Port ${hs.port}`,
    `ListenAddress ${hs.address}`,
    `HostKey ${hs.hostKeyFile}`,
    `PidFile ${path.join(hs.dir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${path.join(hs.dir, 'authorized_keys')}`,
    'StrictModes no',
    'UsePAM no',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PubkeyAuthentication yes',
    'PermitRootLogin no',
    `AllowUsers ${USER}`,
    'UseDNS no',
    'PrintMotd no',
    'PrintLastLog no',
    'LogLevel INFO',
    'LoginGraceTime 60',
    'MaxStartups 100:30:200',
    'MaxSessions 50',
    'X11Forwarding no',
    'AllowTcpForwarding no',
    'AllowAgentForwarding no',
    'Subsystem sftp internal-sftp',
    `Match User ${USER}`,
    `  ChrootDirectory ${path.join(hs.dir, 'root')}`,
    '  ForceCommand internal-sftp',
  ].join('\n')}\n`;
}

function freePort(address) {
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

async function startSshd(hs) {
  for (let attempt = 1; ; attempt++) {
    hs.port = await freePort(hs.address);
    const configFile = path.join(hs.dir, 'sshd_config');
    await fs.writeFile(configFile, sshdConfig(hs), { mode: 0o644 });
    const logStart = await fs.stat(hs.sshdLog).then(
      (s) => s.size,
      () => 0,
    );
    const child = spawn(SSHD, ['-D', '-e', '-E', hs.sshdLog, '-f', configFile], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', (err) => {
      stderr += `spawn error: ${err.message}\n`;
    });
    hs.child = child;
    hs.pid = child.pid ?? 0;
    const deadline = Date.now() + 15_000;
    for (;;) {
      const log = readFrom(hs.sshdLog, logStart);
      if (/Server listening on /.test(log)) return;
      if (child.exitCode !== null || child.signalCode !== null) {
        hs.child = undefined;
        if (/Address already in use|Cannot bind any address/.test(log + stderr) && attempt < 5) break;
        throw new Error(`fleet: sshd for ${hs.name} exited:\n${log}${stderr}`);
      }
      if (Date.now() > deadline) {
        await killTree(hs.pid);
        hs.child = undefined;
        throw new Error(`fleet: sshd for ${hs.name} did not listen within 15 s:\n${log}${stderr}`);
      }
      await sleep(15);
    }
    await sleep(50 * attempt);
  }
}

function readFrom(file, offset) {
  try {
    return readFileSync(file).subarray(offset).toString('utf8');
  } catch {
    return '';
  }
}

async function stopFleet(state, keepDir = false) {
  if (state.stopped) return;
  state.stopped = true;
  try {
    // One /proc scan for all 200 trees: sshd puts each session in its own session (setsid), so a group kill
    // would miss them.
    const pids = processTrees(state.hosts.map((h) => h.pid));
    await killPids(pids);
  } finally {
    if (!keepDir) rmSync(state.dir, { recursive: true, force: true });
    liveFleets.delete(state);
  }
}

async function killTree(pid) {
  await killPids(processTree(pid));
}

async function killPids(pids) {
  signalAll(pids, 'SIGTERM');
  const deadline = Date.now() + 3000;
  while (pids.some((p) => !isGone(p))) {
    if (Date.now() > deadline) {
      signalAll(
        pids.filter((p) => !isGone(p)),
        'SIGKILL',
      );
      await sleep(100);
      break;
    }
    await sleep(20);
  }
}

function processStartTime(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? '';
  } catch {
    return '';
  }
}

/** A bench killed hard leaves its fleet behind: the next start kills sshds of fleets whose owner is gone. */
function reapStaleFleets(fleetsDir) {
  let entries;
  try {
    entries = readdirSync(fleetsDir);
  } catch {
    return;
  }
  for (const entry of entries) {
    const dir = path.join(fleetsDir, entry);
    let owner;
    try {
      owner = JSON.parse(readFileSync(path.join(dir, 'owner.json'), 'utf8'));
    } catch {
      try {
        if (Date.now() - statSync(dir).mtimeMs < 60_000) continue;
      } catch {
        continue;
      }
    }
    if (owner?.pid !== undefined && !isGone(owner.pid) && processStartTime(owner.pid) === owner.start)
      continue;
    for (const host of safeReaddir(dir)) {
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
      if (cmdline.includes(dir)) signalAll(processTree(pid), 'SIGKILL'); // only an sshd of that very fleet
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

function safeReaddir(dir) {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function installHooks() {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', () => {
    for (const state of liveFleets) {
      signalAll(processTrees(state.hosts.map((h) => h.pid)), 'SIGKILL');
      rmSync(state.dir, { recursive: true, force: true });
    }
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.once(sig, () => {
      process.stderr.write(`\n${sig}: stopping the sshd fleet\n`);
      process.exit(130); // the exit hook above kills and removes every live fleet
    });
  }
}
