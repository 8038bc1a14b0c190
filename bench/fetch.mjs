#!/usr/bin/env node
// npm run bench:fetch — a benchmark, not a test (issue #3).
//
// Starts a local fleet of real OpenSSH sshd processes (bench/lib/fleet.mjs: one sshd per host, own host key and
// port, the user chrooted with ForceCommand internal-sftp) and times, side by side in one run:
//   (a) one host, a ~200 MiB log:
//       ours: auditsweep sweep --events-only --hosts big …          (fetch + parse + events.csv, hosts.csv)
//       peer: sftp -b - … <<< 'get /var/log/audit/audit.log /dev/null'    (copy only, to /dev/null)
//   (b) 200 hosts × ~2 MiB, parallelism 32:
//       ours: auditsweep sweep --events-only --all --concurrency 32 …   (fetch + parse + events.csv, hosts.csv)
//       peer: parallel-slurp -p 32 … /var/log/audit/audit.log audit.log    (scp -qC; copy only)
// Runs alternate ours/peer (the order flips every run) and the table shows medians, ratios and the targets.
//
//   node bench/fetch.mjs [--runs 3] [--hosts 200] [--host-mb 2] [--big-mb 200] [--parallel 32]
//                        [--only a|b] [--no-diag] [--no-profile] [--keep] [--cli OTHER/bin/auditsweep.js]
//
// --no-diag     skip the diagnostic rows, which are not part of the comparison: the same sweep writing the whole
//               report set (summary, findings, report.html: no --events-only); (a) `auditsweep parse --events-only`
//               of the big log with no SSH, and the fetch layer alone (bench/lib/fetch-only.mjs, bytes dropped);
//               (b) the fetch layer alone over the fleet
// --no-profile  skip the extra, untimed run of each tool in (b) that records CPU seconds per process class
//               (the tool's tree, the fleet's sshd, this harness, the rest of the machine)
// --keep        keep the fleet folder (sshd logs) and the run outputs in /dev/shm (sshd processes always stop)
// Needs root, openssh-server, openssh-client, pssh and GNU time. See bench/README.md.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startFleet } from './lib/fleet.mjs';
import { fmt, MiB, measure, median } from './lib/measure.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CORPUS = resolve(ROOT, '..', 'shared', 'corpus');
const WORK = join(ROOT, '.bench', 'fetch');
// Outputs of the timed runs go to tmpfs for both tools, so disk writeback never lands in a later run.
const SCRATCH_BASE = existsSync('/dev/shm') ? '/dev/shm' : '/tmp';

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}
const flag = (name) => process.argv.includes(`--${name}`);
/** `--cli OTHER/bin/auditsweep.js`: another build of ours, for before/after. */
const CLI = resolve(arg('cli', join(ROOT, 'bin', 'auditsweep.js')));
const runs = Number(arg('runs', '3'));
const hostCount = Number(arg('hosts', '200'));
const hostMb = Number(arg('host-mb', '2'));
const bigMb = Number(arg('big-mb', '200'));
const parallel = Number(arg('parallel', '32'));
const only = arg('only', 'ab');
const diag = !flag('no-diag');
const profile = !flag('no-profile');
const keep = flag('keep');

const log = (s) => process.stderr.write(`${s}\n`);

function requireTools() {
  const missing = [];
  if (process.getuid?.() !== 0) missing.push('root (the fleet runs chrooted sshd as a local test user)');
  for (const [bin, pkg] of [
    ['/usr/sbin/sshd', 'openssh-server'],
    ['/usr/bin/sftp', 'openssh-client'],
    ['/usr/bin/scp', 'openssh-client'],
    ['/usr/bin/parallel-slurp', 'pssh'],
    ['/usr/bin/time', 'time'],
  ]) {
    if (!existsSync(bin)) missing.push(`${bin} (apt-get install -y ${pkg})`);
  }
  if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) missing.push('dist/ (npm run build)');
  if (missing.length) {
    log(`bench:fetch cannot run; missing:\n  ${missing.join('\n  ')}`);
    process.exit(1);
  }
}

/** scale.mjs into `out` (cached with its summary beside it) unless it is there already. */
function buildLog(out, sizeMb, extra = []) {
  const meta = `${out}.json`;
  if (!existsSync(out) || !existsSync(meta)) {
    const r = spawnSync(
      process.execPath,
      [join(CORPUS, 'scale.mjs'), '--size-mb', String(sizeMb), '--out', out, ...extra],
      {
        encoding: 'utf8',
      },
    );
    if (r.status !== 0) throw new Error(`scale.mjs failed for ${out}: ${r.stderr}`);
    writeFileSync(meta, r.stdout);
  }
  return {
    file: out,
    bytes: statSync(out).size,
    events: Number(JSON.parse(readFileSync(meta, 'utf8')).distinct_events),
  };
}

function buildLogs() {
  mkdirSync(join(WORK, `hosts-${hostMb}mb`), { recursive: true });
  const t0 = Date.now();
  const big = only.includes('a') ? buildLog(join(WORK, `big-${bigMb}mb.log`), bigMb) : undefined;
  const small = [];
  if (only.includes('b')) {
    // One distinct file per host: its own time span (a day apart) and serials, like real hosts.
    const day0 = Date.parse('2026-10-01T00:00:00Z');
    for (let i = 1; i <= hostCount; i++) {
      const name = `h${String(i).padStart(3, '0')}`;
      small.push({
        name,
        ...buildLog(join(WORK, `hosts-${hostMb}mb`, `${name}.log`), hostMb, [
          '--start',
          new Date(day0 + i * 3_600_000).toISOString(),
          '--start-serial',
          String(1000 + i * 100_000),
          '--seed',
          String(i),
        ]),
      });
    }
  }
  if (Date.now() - t0 > 2000) log(`logs built in ${fmt((Date.now() - t0) / 1000)} s (cached in ${WORK})`);
  return { big, small };
}

/** Reads every file once so that no timed run is the one that pulls it from disk. */
function warmPageCache(files) {
  for (const f of files) spawnSync('cat', [f], { stdio: ['ignore', 'ignore', 'ignore'] });
}

function scratch(tag) {
  return mkdtempSync(join(SCRATCH_BASE, `auditsweep-bench-${tag}-`));
}

/** auditsweep's per-host JSON lines (--log-format json) and its totals line, as a one-line summary. */
function hostOutcomes(stderr) {
  const outcomes = [];
  let totals;
  for (const line of stderr.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const o = JSON.parse(line);
      if (o.host && o.outcome) outcomes.push(o);
      else if (o.totals) totals = o.totals;
    } catch {
      // not one of ours
    }
  }
  const ok = outcomes.filter((o) => o.outcome === 'ok').length;
  const summary =
    totals === undefined
      ? '(no totals line)'
      : `${outcomes.length} hosts: ${ok} ok, ${outcomes.length - ok} failed or partial; ${totals.events} events, ${totals.malformed} bad lines`;
  return { outcomes, summary };
}

function oursArgs(env, hostsFlag, outDir, extra = []) {
  return [
    CLI,
    'sweep',
    '--inventory',
    env.inventory,
    ...hostsFlag,
    '--known-hosts',
    env.knownHosts,
    '--ssh-config',
    env.emptyConfig,
    '--identity',
    env.key,
    '--since',
    '2000-01-01',
    '--out',
    outDir,
    '--yes',
    '--log-format',
    'json',
    ...extra,
  ];
}

/**
 * The comparison runs: what issue #3 times, fetch + parse + events.csv (and hosts.csv, manifest.json). The whole
 * report set (issue #4) is a diagnostic row: `--events-only` is left out there.
 */
const EVENTS_ONLY = ['--events-only'];

/** ssh options both peers get: the fleet's key and known_hosts, strict checking, no user or system config. */
function sshOpts(env) {
  return [
    '-F',
    env.emptyConfig,
    '-i',
    env.key,
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    `UserKnownHostsFile=${env.knownHosts}`,
    '-o',
    'GlobalKnownHostsFile=/dev/null',
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    'BatchMode=yes',
  ];
}

function check(cond, what, r) {
  if (!cond) {
    throw new Error(
      `${what} (exit ${r.code})\n--- stderr ---\n${r.stderr.slice(-3000)}\n--- stdout ---\n${r.stdout.slice(-1000)}`,
    );
  }
}

// ----------------------------------------------------------------------------------------------------- (a)

async function runOursA(env, big, extra = EVENTS_ONLY, opts = {}) {
  const out = scratch('a-ours');
  try {
    const r = await measure(process.execPath, oursArgs(env, ['--hosts', 'big'], out, extra), opts);
    const { outcomes, summary } = hostOutcomes(r.stderr);
    check(
      r.code === 0 && outcomes.length === 1 && outcomes[0].outcome === 'ok',
      `auditsweep sweep (a) failed: ${summary}`,
      r,
    );
    if (outcomes[0].bytes !== big.bytes)
      log(`note: auditsweep read ${outcomes[0].bytes} bytes of ${big.bytes}`);
    if (outcomes[0].events !== big.events)
      log(`note: auditsweep counted ${outcomes[0].events} events, scale.mjs ${big.events}`);
    return r;
  } finally {
    if (!keep) rmSync(out, { recursive: true, force: true });
  }
}

async function runPeerA(env, host, target = '/dev/null', opts = {}) {
  return measure(
    '/usr/bin/sftp',
    [...sshOpts(env), '-P', String(host.port), '-b', '-', `${env.user}@${host.address}`],
    { ...opts, stdin: `get /var/log/audit/audit.log ${target}\n` },
  ).then((r) => {
    check(r.code === 0, 'sftp get failed', r);
    return r;
  });
}

async function runParseA(big) {
  const out = scratch('a-parse');
  try {
    const r = await measure(process.execPath, [
      CLI,
      'parse',
      big.file,
      '--host',
      'big',
      '--events-only',
      '--out',
      out,
    ]);
    check(r.code === 0, 'auditsweep parse failed', r);
    return r;
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

/** The fetch layer alone (bench/lib/fetch-only.mjs): same library, same hosts, bytes dropped, no parser. */
async function runFetchOnly(env, targetsFile, expectBytes, extra = []) {
  const r = await measure(process.execPath, [
    join(ROOT, 'bench', 'lib', 'fetch-only.mjs'),
    '--targets',
    targetsFile,
    '--user',
    env.user,
    '--identity',
    env.key,
    '--known-hosts',
    env.knownHosts,
    ...extra,
  ]);
  check(r.code === 0, 'fetch-only diagnostic failed', r);
  r.result = JSON.parse(r.stdout.trim().split('\n').at(-1));
  check(
    r.result.bytes === expectBytes,
    `fetch-only read ${r.result.bytes} bytes, expected ${expectBytes}`,
    r,
  );
  return r;
}

async function sectionA(env, big) {
  const host = env.fleet.hosts.find((h) => h.name === 'big');
  log(`\n(a) single host, ${fmt(big.bytes / MiB, 0)} MiB log, ${runs} runs`);
  // Untimed warm-up of each; sftp's goes to a tmpfs file so that the copy is checked byte for byte once.
  const copy = join(scratch('a-check'), 'audit.log');
  await runPeerA(env, host, copy);
  const copied = statSync(copy).size;
  rmSync(dirname(copy), { recursive: true, force: true });
  if (copied !== big.bytes) throw new Error(`sftp warm-up copied ${copied} bytes, expected ${big.bytes}`);
  await runOursA(env, big);

  const ours = [];
  const peer = [];
  const full = [];
  const parse = [];
  const fetchOnly = [];
  for (let i = 0; i < runs; i++) {
    const order = i % 2 === 0 ? ['ours', 'peer'] : ['peer', 'ours'];
    for (const who of order) {
      if (who === 'ours') ours.push(await runOursA(env, big));
      else peer.push(await runPeerA(env, host));
    }
    if (diag) {
      full.push(await runOursA(env, big, []));
      parse.push(await runParseA(big));
      fetchOnly.push(await runFetchOnly(env, env.bigTargets, big.bytes));
    }
    log(
      `  run ${i + 1}/${runs}: auditsweep ${fmt(ours[i].ms / 1000, 2)} s, sftp ${fmt(peer[i].ms / 1000, 2)} s` +
        (diag
          ? `, with the report set ${fmt(full[i].ms / 1000, 2)} s, local parse ${fmt(parse[i].ms / 1000, 2)} s, ` +
            `fetch layer only ${fmt(fetchOnly[i].ms / 1000, 2)} s`
          : ''),
    );
  }
  return { ours, peer, full, parse, fetchOnly };
}

// ----------------------------------------------------------------------------------------------------- (b)

async function runOursB(env, small, extra = EVENTS_ONLY, opts = {}) {
  const out = scratch('b-ours');
  try {
    const r = await measure(
      process.execPath,
      oursArgs(env, env.hasBig ? ['--all', '--exclude', 'big'] : ['--all'], out, [
        '--concurrency',
        String(parallel),
        ...extra,
      ]),
      opts,
    );
    const { outcomes, summary } = hostOutcomes(r.stderr);
    r.outcomes = outcomes;
    r.summary = summary;
    const ok = outcomes.filter((o) => o.outcome === 'ok');
    r.ok = ok.length;
    const wantEvents = small.reduce((a, h) => a + h.events, 0);
    const gotEvents = ok.reduce((a, o) => a + (o.events ?? 0), 0);
    if (ok.length === small.length && gotEvents !== wantEvents) {
      log(`note: auditsweep counted ${gotEvents} events over the fleet, scale.mjs ${wantEvents}`);
    }
    r.hostMs = outcomes.map((o) => o.duration_ms ?? Number.NaN);
    return r;
  } finally {
    if (!keep) rmSync(out, { recursive: true, force: true });
  }
}

async function runPeerB(env, small, opts = {}) {
  const out = scratch('b-peer');
  try {
    const r = await measure(
      '/usr/bin/parallel-slurp',
      [
        '-p',
        String(parallel),
        '-t',
        '0', // no per-host timeout (pssh's default is 60 s)
        '-h',
        env.psshHosts,
        '-x',
        sshOpts(env).join(' '),
        '-L',
        out,
        '/var/log/audit/audit.log',
        'audit.log',
      ],
      opts,
    );
    // Every host's copy must be complete: pssh names the folder host:port.
    let good = 0;
    const bad = [];
    for (const h of env.fleet.hosts) {
      const want = small.find((s) => s.name === h.name);
      if (!want) continue;
      const f = join(out, `${h.address}:${h.port}`, 'audit.log');
      const size = existsSync(f) ? statSync(f).size : -1;
      if (size === want.bytes) good++;
      else bad.push(`${h.name}: ${size < 0 ? 'missing' : `${size} bytes`}`);
    }
    r.ok = good;
    r.bad = bad;
    return r;
  } finally {
    if (!keep) rmSync(out, { recursive: true, force: true });
  }
}

async function sectionB(env, small) {
  const totalBytes = small.reduce((a, h) => a + h.bytes, 0);
  log(
    `\n(b) ${small.length} hosts × ${fmt(totalBytes / small.length / MiB, 1)} MiB, parallelism ${parallel}, ${runs} runs`,
  );
  // Untimed warm-up: the first connection to each sshd pays for its lazy start (page faults, key load).
  await runPeerB(env, small);
  await runOursB(env, small);

  const ours = [];
  const peer = [];
  const full = [];
  const fetchOnly = [];
  for (let i = 0; i < runs; i++) {
    const order = i % 2 === 0 ? ['ours', 'peer'] : ['peer', 'ours'];
    for (const who of order) {
      if (who === 'ours') ours.push(await runOursB(env, small));
      else peer.push(await runPeerB(env, small));
    }
    if (diag) {
      full.push(await runOursB(env, small, []));
      fetchOnly.push(
        await runFetchOnly(env, env.smallTargets, totalBytes, ['--concurrency', String(parallel)]),
      );
    }
    log(
      `  run ${i + 1}/${runs}: auditsweep ${fmt(ours[i].ms / 1000, 2)} s (${ours[i].ok}/${small.length} ok), ` +
        `parallel-slurp ${fmt(peer[i].ms / 1000, 2)} s (${peer[i].ok}/${small.length} complete)` +
        (diag
          ? `, auditsweep with the report set ${fmt(full[i].ms / 1000, 2)} s, ` +
            `fetch layer only ${fmt(fetchOnly[i].ms / 1000, 2)} s`
          : ''),
    );
  }
  let prof;
  if (profile) {
    log('  profile run (untimed): CPU seconds per command, machine-wide');
    const sshdPids = () => env.fleet.hosts.map((h) => h.pid);
    prof = {
      ours: (await runOursB(env, small, EVENTS_ONLY, { profile: true, sshdPids })).profile,
      peer: (await runPeerB(env, small, { profile: true, sshdPids })).profile,
    };
  }
  return { ours, peer, full, fetchOnly, totalBytes, prof };
}

// ------------------------------------------------------------------------------------------------- report

function row(name, rs, bytes) {
  const s = median(rs.map((r) => r.ms)) / 1000;
  return {
    name,
    s,
    mibs: bytes / MiB / s,
    rss: median(rs.map((r) => r.peakRss)) / MiB,
    cpu: median(rs.map((r) => r.userS + r.sysS)),
    busy: median(rs.map((r) => r.machineBusyPct)),
    spread: `${fmt(Math.min(...rs.map((r) => r.ms)) / 1000, 2)}–${fmt(Math.max(...rs.map((r) => r.ms)) / 1000, 2)}`,
  };
}

function table(rows, ratio) {
  const out = [
    '| tool | wall s (median) | min–max s | MiB/s | peak RSS MiB | client CPU s | machine CPU busy % |',
    '|---|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    out.push(
      `| ${r.name} | ${fmt(r.s, 2)} | ${r.spread} | ${fmt(r.mibs)} | ${fmt(r.rss, 0)} | ${fmt(r.cpu, 2)} | ${fmt(r.busy, 0)} |`,
    );
  }
  const [o, p] = ratio;
  out.push(
    `| **ratio ours/peer** | ${fmt(o.s / p.s, 2)}× | | ${fmt(o.mibs / p.mibs, 2)}× | ${fmt(o.rss / p.rss, 2)}× | ${fmt(o.cpu / p.cpu, 2)}× | |`,
  );
  return out.join('\n');
}

/** A diagnostic row under a table: not part of the comparison, its time ratio to the peer in its name. */
function diagLine(d, peer) {
  return `| ${d.name} (${fmt(d.s / peer.s, 2)}× peer time) | ${fmt(d.s, 2)} | ${d.spread} | ${fmt(d.mibs)} | ${fmt(d.rss, 0)} | ${fmt(d.cpu, 2)} | ${fmt(d.busy, 0)} |`;
}

function versions() {
  const ssh = spawnSync('ssh', ['-V'], { encoding: 'utf8' }).stderr.trim();
  const pssh = spawnSync('dpkg-query', ['-W', '--showformat', `\${Version}`, 'pssh'], {
    encoding: 'utf8',
  }).stdout.trim();
  return `node ${process.version}, ${ssh}, pssh ${pssh || '?'}, ${cpus().length} cores (${cpus()[0]?.model ?? '?'})`;
}

async function main() {
  requireTools();
  const { big, small } = buildLogs();
  const fleetHosts = [
    ...(big ? [{ name: 'big', log: big.file }] : []),
    ...small.map((h) => ({ name: h.name, log: h.file })),
  ];
  const t0 = Date.now();
  const fleet = await startFleet({ hosts: fleetHosts });
  log(
    `fleet: ${fleet.hosts.length} sshd processes started in ${fmt((Date.now() - t0) / 1000)} s (${fleet.dir})`,
  );
  try {
    const env = {
      fleet,
      user: fleet.user,
      key: fleet.clientKey,
      knownHosts: fleet.knownHostsFile,
      emptyConfig: join(fleet.dir, 'empty_ssh_config'),
      inventory: join(fleet.dir, 'inventory.yaml'),
      psshHosts: join(fleet.dir, 'pssh-hosts'),
      hasBig: big !== undefined,
      bigTargets: join(fleet.dir, 'targets-big.json'),
      smallTargets: join(fleet.dir, 'targets-small.json'),
    };
    writeFileSync(env.emptyConfig, '');
    writeFileSync(
      env.inventory,
      `auditsweep: 1\ndefaults:\n  user: ${fleet.user}\nhosts:\n${fleet.hosts
        .map((h) => `  ${h.name}: { address: ${h.address}, port: ${h.port} }\n`)
        .join('')}`,
    );
    writeFileSync(
      env.psshHosts,
      fleet.hosts
        .filter((h) => h.name !== 'big')
        .map((h) => `${fleet.user}@${h.address}:${h.port}\n`)
        .join(''),
    );
    const targets = (pick) =>
      JSON.stringify(fleet.hosts.filter(pick).map((h) => ({ address: h.address, port: h.port })));
    writeFileSync(
      env.bigTargets,
      targets((h) => h.name === 'big'),
    );
    writeFileSync(
      env.smallTargets,
      targets((h) => h.name !== 'big'),
    );
    warmPageCache([...(big ? [big.file] : []), ...small.map((h) => h.file)]);

    const a = big ? await sectionA(env, big) : undefined;
    const b = small.length ? await sectionB(env, small) : undefined;

    console.log(
      `\nfetch benchmark (issue #3): medians of ${runs} runs, alternating ours/peer; ${versions()}`,
    );
    console.log(
      'peak RSS: the process, or for a process tree the sampled peak of the summed RSS; client CPU: the tool and its children (getrusage), not sshd',
    );
    if (a) {
      const o = row('auditsweep sweep --events-only (fetch + parse + events.csv)', a.ours, big.bytes);
      const p = row('OpenSSH sftp `get` → /dev/null (copy only)', a.peer, big.bytes);
      console.log(`\n(a) single host, ${fmt(big.bytes / MiB, 1)} MiB log, ${big.events} events\n`);
      console.log(table([o, p], [o, p]));
      if (diag && a.parse.length) {
        console.log(
          diagLine(
            row(
              'diagnostic: the same sweep writing the whole report set (no --events-only)',
              a.full,
              big.bytes,
            ),
            p,
          ),
        );
        console.log(
          diagLine(
            row(
              'diagnostic: `auditsweep parse --events-only` of the same file, local, no SSH',
              a.parse,
              big.bytes,
            ),
            p,
          ),
        );
        console.log(
          diagLine(
            row(
              'diagnostic: auditsweep fetch layer only (dist/fetch, bytes dropped)',
              a.fetchOnly,
              big.bytes,
            ),
            p,
          ),
        );
        const f = a.fetchOnly.map((r) => r.result);
        console.log(
          `\nfetch layer only: connect + login ${fmt(median(f.map((x) => x.connectMsMedian)), 0)} ms, read ` +
            `${fmt(big.bytes / MiB / (median(f.map((x) => x.readMsMedian)) / 1000), 0)} MiB/s once logged in, cipher ${f[0]?.cipher}`,
        );
      }
      const ratio = o.mibs / p.mibs;
      console.log(
        `\ntarget (a): throughput ≥ 1.0× OpenSSH sftp → ${fmt(ratio, 2)}× ${ratio >= 1 ? 'MET' : 'NOT MET'}`,
      );
    }
    if (b) {
      const o = row(
        `auditsweep sweep --events-only --all --concurrency ${parallel} (fetch + parse + events.csv)`,
        b.ours,
        b.totalBytes,
      );
      const p = row(`parallel-slurp -p ${parallel} (scp -qC, copy only)`, b.peer, b.totalBytes);
      console.log(
        `\n(b) ${small.length} hosts × ${fmt(b.totalBytes / small.length / MiB, 1)} MiB (${fmt(b.totalBytes / MiB, 0)} MiB), parallelism ${parallel}\n`,
      );
      console.log(table([o, p], [o, p]));
      if (diag && b.full.length) {
        console.log(
          diagLine(
            row(
              'diagnostic: the same sweep writing the whole report set (no --events-only)',
              b.full,
              b.totalBytes,
            ),
            p,
          ),
        );
        console.log(
          diagLine(
            row(
              `diagnostic: auditsweep fetch layer only, ${parallel} at once, 8 connecting`,
              b.fetchOnly,
              b.totalBytes,
            ),
            p,
          ),
        );
        const f = b.fetchOnly.map((r) => r.result);
        console.log(
          `\nfetch layer only: per host connect + login ${fmt(median(f.map((x) => x.connectMsMedian)), 0)} ms (median, limiter wait included), ` +
            `read ${fmt(median(f.map((x) => x.readMsMedian)), 0)} ms`,
        );
      }
      const ratio = o.s / p.s;
      console.log(
        `\ntarget (b): wall time ≤ 0.5× parallel-slurp → ${fmt(ratio, 2)}× ${ratio <= 0.5 ? 'MET' : 'NOT MET'}`,
      );

      // Host outcomes of every timed auditsweep run: all must be ok.
      console.log('\nauditsweep host outcomes (timed runs):');
      for (const [i, r] of b.ours.entries()) {
        const failed = r.outcomes.filter((x) => x.outcome !== 'ok');
        console.log(`  run ${i + 1}: ${r.summary}`);
        for (const f of failed.slice(0, 20))
          console.log(`    ${f.outcome} ${f.host} ${f.code ?? ''}: ${f.message}`);
        if (failed.length > 20) console.log(`    … and ${failed.length - 20} more`);
      }
      const hostMs = b.ours.flatMap((r) => r.hostMs);
      const medRun = b.ours.map((r) => r.ms).sort((x, y) => x - y)[b.ours.length >> 1];
      const mid = b.ours.find((r) => r.ms === medRun);
      if (mid) {
        const sum = mid.hostMs.reduce((x, y) => x + y, 0);
        console.log(
          `  per-host duration (all timed runs): median ${fmt(median(hostMs), 0)} ms, max ${fmt(Math.max(...hostMs), 0)} ms; ` +
            `median run: Σ host time / wall = ${fmt(sum / mid.ms, 1)} hosts busy on average (of ${parallel})`,
        );
      }
      console.log('parallel-slurp (timed runs):');
      for (const [i, r] of b.peer.entries()) {
        console.log(
          `  run ${i + 1}: exit ${r.code}, ${r.ok}/${small.length} complete copies${r.bad.length ? `; ${r.bad.slice(0, 5).join(', ')}` : ''}`,
        );
      }
      if (b.prof) {
        const total = (list) => list.reduce((x, y) => x + y.s, 0);
        const top = (list, n = 4) =>
          list
            .slice(0, n)
            .map((x) => `${x.comm} ${fmt(x.s, 1)}`)
            .join(', ') || '-';
        console.log(
          '\nCPU seconds during one extra, untimed run of each (sampled every 100 ms, whole machine):',
        );
        console.log(
          '| run | the tool (its tree) | fleet sshd, sampled | fleet sshd, exact | bench harness | rest of machine |\n' +
            '|---|---|---|---|---|---|',
        );
        for (const [name, p] of [
          ['auditsweep', b.prof.ours],
          ['parallel-slurp', b.prof.peer],
        ]) {
          console.log(
            `| ${name} | ${fmt(total(p.tool), 1)}: ${top(p.tool)} | ${fmt(total(p.sshd), 1)}: ${top(p.sshd, 2)} | ` +
              `${fmt(p.sshdExact, 1)} | ${fmt(total(p.bench), 1)} | ${fmt(total(p.other), 1)}: ${top(p.other, 3)} |`,
          );
        }
        console.log(
          "  (sampled: every 100 ms, so a session process that lives less misses its CPU; exact: the listeners' own " +
            "CPU and their reaped sessions' from /proc/PID/stat cutime/cstime, plus the sessions still alive)",
        );
      }
    }
  } finally {
    await fleet.stop({ keepDir: keep });
    if (keep)
      log(
        `--keep: fleet folder ${fleet.dir} (sshd logs) and outputs under ${SCRATCH_BASE}/auditsweep-bench-* kept; sshd processes stopped`,
      );
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
