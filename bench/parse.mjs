#!/usr/bin/env node
// npm run bench:parse — a benchmark, not a test.
//
// Builds ~200 MB and ~1 GB logs with ../shared/corpus/scale.mjs, then times, side by side in one run,
//   ours:  auditsweep parse FILE --events-only --out DIR   (writes events.csv)
//          auditsweep parse FILE --out DIR                 (the whole report set, in the same pass)
//   peer:  ausearch -if FILE --format csv > FILE     (the reference tool, Debian package auditd)
// and prints MB/s, events/s, CPU seconds and peak RSS of each and the ratios, as medians over --runs runs
// (alternating ours/peer so that machine noise hits both alike), and the fastest run of each.
//
//   node bench/parse.mjs [--sizes 200,1000] [--runs 3] [--input enriched|raw|DIR] [--keep]
//                        [--workers N]   row worker threads for ours (default: auditsweep's own choice;
//                                        0 = everything on the main thread), via AUDITSWEEP_PARSE_WORKERS
//                        [--cli PATH]    another build's bin/auditsweep.js, to compare before/after
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CORPUS = resolve(ROOT, '..', 'shared', 'corpus');
const WORK = join(ROOT, '.bench');

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}
const sizes = arg('sizes', '200,1000').split(',').map(Number);
const runs = Number(arg('runs', '3'));
const input = arg('input', 'enriched');
const keep = process.argv.includes('--keep');
const workers = arg('workers', undefined);
const cliPath = arg('cli', undefined);

/** Runs a command; resolves with wall time (ms) and peak RSS (bytes) read from /proc VmHWM while it runs. */
function measure(cmd, args, { stdoutFile, env } = {}) {
  return new Promise((resolvePromise, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(cmd, args, {
      stdio: ['ignore', stdoutFile ? 'pipe' : 'ignore', 'pipe'],
      env: env ? { ...process.env, ...env } : process.env,
    });
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    if (stdoutFile) child.stdout.pipe(createWriteStream(stdoutFile));
    let peak = 0;
    let cpu = 0;
    const poll = setInterval(() => {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m) peak = Math.max(peak, Number(m[1]) * 1024);
        // utime + stime of all the process's threads, in clock ticks (USER_HZ, 100 on Linux): the last sample
        // before the exit, so up to 10 ms short. On a shared machine CPU time varies less than wall time.
        const f = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
        cpu = Math.max(cpu, (Number(f[11]) + Number(f[12])) / 100);
      } catch {
        // exited between polls
      }
    }, 10);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearInterval(poll);
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      if (code !== 0) reject(new Error(`${cmd} exited ${code}: ${stderr.slice(0, 500)}`));
      else resolvePromise({ ms, peak, cpu, stderr });
    });
  });
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const mb = (bytes) => bytes / 1024 / 1024;
const fmt = (x, d = 1) => x.toFixed(d);

async function buildLog(sizeMb) {
  mkdirSync(WORK, { recursive: true });
  const out = join(WORK, `${input.replace(/[^a-z0-9]/gi, '_')}-${sizeMb}mb.log`);
  const meta = `${out}.json`;
  if (!existsSync(out) || !existsSync(meta)) {
    process.stderr.write(`building ${out} (${sizeMb} MiB) with scale.mjs…\n`);
    const inputPath = existsSync(join(CORPUS, input)) ? join(CORPUS, input) : input;
    const { stderr } = await measure(
      process.execPath,
      [join(CORPUS, 'scale.mjs'), '--size-mb', String(sizeMb), '--out', out, '--input', inputPath],
      { stdoutFile: meta },
    );
    void stderr;
  }
  const summary = JSON.parse(readFileSync(meta, 'utf8'));
  return { file: out, bytes: statSync(out).size, summary };
}

async function main() {
  if (!existsSync('/usr/sbin/ausearch')) {
    console.error('ausearch is missing: apt-get install -y auditd (the benchmark compares against it)');
    process.exit(1);
  }
  const cli = cliPath ? resolve(cliPath) : join(ROOT, 'bin', 'auditsweep.js');
  const loadAtStart = loadavg()[0];
  const env = workers === undefined ? undefined : { AUDITSWEEP_PARSE_WORKERS: workers };
  const rows = [];
  for (const size of sizes) {
    const { file, bytes, summary } = await buildLog(size);
    const ourEvents = Number(summary.distinct_events ?? summary.events ?? 0);
    const peerEvents = Number(summary.expected_ausearch_events ?? ourEvents);
    const outDir = join(WORK, 'out');
    const ours = [];
    const full = [];
    const peer = [];
    for (let i = 0; i < runs; i++) {
      rmSync(outDir, { recursive: true, force: true });
      // The parser alone (events.csv, worker threads), as issue #2 measures it.
      const o = await measure(
        process.execPath,
        [cli, 'parse', file, '--host', 'bench', '--events-only', '--out', outDir],
        { env },
      );
      const m = /(\d+) events/.exec(o.stderr);
      if (m && Number(m[1]) !== ourEvents) {
        process.stderr.write(`note: auditsweep reported ${m[1]} events, scale.mjs predicted ${ourEvents}\n`);
      }
      ours.push(o);
      // The whole report set (summary, findings, report.html, manifest) in the same pass: issue #4 asks that
      // the counts add little to the parse time.
      rmSync(outDir, { recursive: true, force: true });
      full.push(
        await measure(process.execPath, [cli, 'parse', file, '--host', 'bench', '--out', outDir], { env }),
      );
      const p = await measure('/usr/sbin/ausearch', ['-if', file, '--format', 'csv'], {
        stdoutFile: join(WORK, 'ausearch.csv'),
      });
      peer.push(p);
      process.stderr.write(
        `  ${size} MiB run ${i + 1}/${runs}: auditsweep ${fmt(o.ms / 1000, 2)} s, ausearch ${fmt(p.ms / 1000, 2)} s\n`,
      );
    }
    const summarise = (list, events) => {
      const ms = median(list.map((r) => r.ms));
      return {
        s: ms / 1000,
        min: Math.min(...list.map((r) => r.ms)) / 1000,
        mbs: mb(bytes) / (ms / 1000),
        eps: events / (ms / 1000),
        cpu: median(list.map((r) => r.cpu)),
        rss: median(list.map((r) => r.peak)),
      };
    };
    rows.push({
      size: `${fmt(mb(bytes), 0)} MiB`,
      events: ourEvents,
      ours: summarise(ours, ourEvents),
      full: summarise(full, ourEvents),
      peer: summarise(peer, peerEvents),
    });
  }
  const mode = workers === undefined ? 'default threads' : `AUDITSWEEP_PARSE_WORKERS=${workers}`;
  console.log(
    `\nparse benchmark: medians of ${runs} runs, input ${input}, node ${process.version}, ${mode}, ${cpus().length} CPUs\n`,
  );
  console.log(
    '| log | tool | time s | fastest s | MB/s | events/s | CPU s | peak RSS MiB |\n|---|---|---:|---:|---:|---:|---:|---:|',
  );
  for (const r of rows) {
    for (const [name, x] of [
      ['auditsweep parse --events-only', r.ours],
      ['auditsweep parse (full report set)', r.full],
      ['ausearch --format csv', r.peer],
    ]) {
      console.log(
        `| ${r.size} | ${name} | ${fmt(x.s, 2)} | ${fmt(x.min, 2)} | ${fmt(x.mbs)} | ${fmt(x.eps, 0)} | ${fmt(x.cpu, 2)} | ${fmt(mb(x.rss), 0)} |`,
      );
    }
    console.log(
      `| ${r.size} | report set / events only | ${fmt(r.full.s / r.ours.s, 2)}× time | | | | ${fmt(r.full.cpu / r.ours.cpu, 2)}× | ${fmt(r.full.rss / r.ours.rss, 2)}× |`,
    );
    console.log(
      `| ${r.size} | **ratio** (events only/peer) | ${fmt(r.ours.s / r.peer.s, 2)}× time | ${fmt(r.ours.min / r.peer.min, 2)}× | ${fmt(r.ours.mbs / r.peer.mbs, 2)}× | ${fmt(r.ours.eps / r.peer.eps, 2)}× | ${fmt(r.ours.cpu / r.peer.cpu, 2)}× | ${fmt(r.ours.rss / r.peer.rss, 2)}× |`,
    );
  }
  const [l1, l5] = loadavg();
  console.log(
    `\nload average: ${fmt(loadAtStart, 2)} (1 min) at the start; ${fmt(l1, 2)} (1 min), ${fmt(l5, 2)} (5 min) at the end: other work on the machine`,
  );
  console.log(
    '\ntargets (issue #2): throughput ≥ 3× ausearch; peak RSS < 200 MiB and not growing with file size',
  );
  if (!keep) rmSync(join(WORK, 'out'), { recursive: true, force: true });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
