#!/usr/bin/env node
// First step of `npm test`: make sure the system tools the tests talk to are installed.
//   auditd          → ausearch/aureport, the reference tools the parser is compared with
//   openssh-server  → /usr/sbin/sshd, the real servers of the fleet tests
//   openssh-client  → ssh-keygen (host keys, hashed known_hosts), sftp
//   sudo            → the sudo transport tests
//   openssl         → self-signed certificates for the STARTTLS/smtps mail tests
// Installs the missing ones with apt-get when running as root, otherwise stops with the one line to run.
import { execFileSync, spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';

const NEEDS = [
  { pkg: 'auditd', path: '/usr/sbin/ausearch' },
  { pkg: 'openssh-server', path: '/usr/sbin/sshd' },
  { pkg: 'openssh-client', path: '/usr/bin/ssh-keygen' },
  { pkg: 'sudo', path: '/usr/bin/sudo' },
  { pkg: 'openssl', path: '/usr/bin/openssl' },
  { pkg: 'chromium', path: '/usr/bin/chromium' },
  { pkg: 'tmux', path: '/usr/bin/tmux' },
];

function present(path) {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

const missing = [...new Set(NEEDS.filter((n) => !present(n.path)).map((n) => n.pkg))];
if (missing.length === 0) process.exit(0);

const line = `apt-get update && apt-get install -y --no-install-recommends ${missing.join(' ')}`;
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const hasApt = spawnSync('sh', ['-c', 'command -v apt-get'], { stdio: 'ignore' }).status === 0;
if (!isRoot || !hasApt) {
  process.stderr.write(`The tests need these system packages: ${missing.join(', ')}. Run:\n  sudo ${line}\n`);
  process.exit(1);
}
process.stderr.write(`Installing system packages the tests need: ${missing.join(', ')}\n`);
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
try {
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], {
    stdio: 'inherit',
    env,
  });
} catch {
  process.stderr.write(`apt-get failed. Run:\n  ${line}\n`);
  process.exit(1);
}
const still = NEEDS.filter((n) => !present(n.path)).map((n) => n.path);
if (still.length > 0) {
  process.stderr.write(`Still missing after install: ${still.join(', ')}\n`);
  process.exit(1);
}
