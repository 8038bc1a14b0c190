// Runs one command the way a benchmark needs: wall time, client CPU time, peak memory, machine CPU use.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { allProcessTicks, cpuJiffies, descendants, memoryOf, ticksWithReapedChildren } from './proc.mjs';

const TIME = '/usr/bin/time';

/**
 * Runs `cmd args` and resolves with
 *   { ms, code, stdout, stderr, peakRss, userS, sysS, machineBusyPct, profile? }
 * - ms: wall time from spawn to exit (hrtime).
 * - peakRss: the largest of (a) the sum of VmRSS over the command's process tree, sampled every `pollMs`,
 *   and (b) any single process's VmHWM seen. For a single process that is its exact peak; for a tree
 *   (parallel-slurp: python + scp + ssh per host) it is the sampled peak of the sum.
 * - userS/sysS: CPU seconds of the command and every descendant it waited for (GNU time's %U/%S, i.e.
 *   getrusage(RUSAGE_CHILDREN)): the client's CPU cost, not the sshd side.
 * - machineBusyPct: share of all cores busy during the run (/proc/stat), 100 = every core saturated; the
 *   sshd side and anything else on the machine included.
 * - profile (opts.profile): CPU seconds over the whole machine during the run, sampled every 100 ms (a
 *   short-lived process loses its last < 100 ms), split into { tool, sshd, bench, other }, each a list of
 *   { comm, s } by command name: `tool` is the command's process tree, `sshd` the trees under
 *   `opts.sshdPids()` (the fleet's listeners), `bench` this process, `other` the rest of the machine; and
 *   `sshdExact`, the fleet's CPU seconds counted exactly: the listeners' own and their reaped sessions' (cutime,
 *   cstime), plus the sessions still alive at the end.
 * opts: { stdin?: string, env?, cwd?, pollMs = 100, profile = false, sshdPids?: () => number[] }.
 */
export function measure(cmd, args, opts = {}) {
  const tmp = mkdtempSync(join(tmpdir(), 'auditsweep-bench-time-'));
  const timeFile = join(tmp, 'time');
  const useTime = opts.time !== false;
  const argv = useTime ? ['-o', timeFile, '-f', '%e %U %S', cmd, ...args] : args;
  return new Promise((resolve, reject) => {
    const cpu0 = cpuJiffies();
    const ticks0 = opts.profile ? allProcessTicks() : undefined;
    const sshdReaped0 = opts.profile ? ticksWithReapedChildren(opts.sshdPids?.() ?? []) : 0;
    const started = process.hrtime.bigint();
    const child = spawn(useTime ? TIME : cmd, argv, {
      stdio: [opts.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      ...(opts.env && { env: opts.env }),
      ...(opts.cwd && { cwd: opts.cwd }),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    if (opts.stdin !== undefined) child.stdin.end(opts.stdin);

    let peakRss = 0;
    const sample = () => {
      // Under GNU time, the tree's root is `time` itself (≈ 2 MB): leave it out.
      const pids = descendants(child.pid).slice(useTime ? 1 : 0);
      let sum = 0;
      for (const pid of pids) {
        const m = memoryOf(pid);
        if (!m) continue;
        sum += m.rss;
        peakRss = Math.max(peakRss, m.hwm);
      }
      peakRss = Math.max(peakRss, sum);
    };
    const poll = setInterval(sample, opts.pollMs ?? 100);
    setTimeout(sample, 5);

    // Profile: last CPU ticks seen per pid (a pid born during the run counts from 0), and its class.
    const lastTicks = new Map();
    const sshdRoots = new Set(opts.sshdPids?.() ?? []);
    const classify = (pid, procs) => {
      for (let p = pid, hops = 0; p > 1 && hops < 64; hops++) {
        if (p === child.pid) return 'tool';
        if (sshdRoots.has(p)) return 'sshd';
        if (p === process.pid) return 'bench';
        p = procs.get(p)?.ppid ?? 0;
      }
      return 'other';
    };
    const profileSample = () => {
      const procs = allProcessTicks();
      for (const [pid, v] of procs) {
        const prev = lastTicks.get(pid);
        lastTicks.set(pid, { ...v, cls: prev && prev.comm === v.comm ? prev.cls : classify(pid, procs) });
      }
    };
    const profilePoll = opts.profile ? setInterval(profileSample, 100) : undefined;

    child.on('error', (err) => {
      clearInterval(poll);
      if (profilePoll) clearInterval(profilePoll);
      rmSync(tmp, { recursive: true, force: true });
      reject(err);
    });
    child.on('close', (code) => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      clearInterval(poll);
      const cpu1 = cpuJiffies();
      let profile;
      if (profilePoll) {
        clearInterval(profilePoll);
        profileSample();
        const by = { tool: new Map(), sshd: new Map(), bench: new Map(), other: new Map() };
        for (const [pid, v] of lastTicks) {
          const before = ticks0.get(pid);
          const d = before && before.comm === v.comm ? v.ticks - before.ticks : v.ticks;
          if (d > 0) by[v.cls].set(v.comm, (by[v.cls].get(v.comm) ?? 0) + d);
        }
        const hz = 100; // USER_HZ on Linux
        profile = Object.fromEntries(
          Object.entries(by).map(([cls, m]) => [
            cls,
            [...m].map(([comm, t]) => ({ comm, s: t / hz })).sort((a, b) => b.s - a.s),
          ]),
        );
        // Sessions not yet reaped count by their own ticks; the others are in the listeners' cutime/cstime.
        const procsEnd = allProcessTicks();
        let alive = 0;
        for (const [pid, v] of procsEnd) {
          if (sshdRoots.has(pid) || classify(pid, procsEnd) !== 'sshd') continue;
          const before = ticks0.get(pid);
          alive += before && before.comm === v.comm ? v.ticks - before.ticks : v.ticks;
        }
        profile.sshdExact = (ticksWithReapedChildren([...sshdRoots]) - sshdReaped0 + alive) / hz;
      }
      let userS = Number.NaN;
      let sysS = Number.NaN;
      if (useTime) {
        try {
          // GNU time writes "Command exited with non-zero status N" first when it failed.
          const last = readFileSync(timeFile, 'utf8').trim().split('\n').at(-1) ?? '';
          const [, u, s] = last.split(' ').map(Number);
          userS = u ?? Number.NaN;
          sysS = s ?? Number.NaN;
        } catch {
          // no time file
        }
      }
      rmSync(tmp, { recursive: true, force: true });
      const busy = cpu1.busy - cpu0.busy;
      const total = cpu1.total - cpu0.total;
      resolve({
        ms,
        code,
        stdout,
        stderr,
        peakRss,
        userS,
        sysS,
        machineBusyPct: total > 0 ? (100 * busy) / total : Number.NaN,
        profile,
      });
    });
  });
}

export function median(xs) {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export const MiB = 1024 * 1024;
export const fmt = (x, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
