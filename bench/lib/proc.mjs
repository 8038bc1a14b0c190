// /proc helpers for benchmarks: process trees, liveness, signals, and memory/CPU readings.
import { readdirSync, readFileSync } from 'node:fs';

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Fields of /proc/PID/stat after the command name (index 0 = state), or undefined once gone. */
function statFields(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** True when the process no longer runs (absent, or a zombie nobody reaps). */
export function isGone(pid) {
  const f = statFields(pid);
  return f === undefined || f[0] === 'Z' || f[0] === 'X';
}

/** The given pids and every process below any of them, from one scan of /proc. */
export function processTrees(roots) {
  const live = roots.filter((p) => Number.isInteger(p) && p > 1);
  if (live.length === 0) return [];
  const children = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const f = statFields(entry);
    if (!f) continue;
    const ppid = Number(f[1]);
    if (!children.has(ppid)) children.set(ppid, []);
    children.get(ppid).push(Number(entry));
  }
  const tree = [...live];
  for (let i = 0; i < tree.length; i++) for (const c of children.get(tree[i]) ?? []) tree.push(c);
  return tree;
}

export const processTree = (pid) => processTrees([pid]);

export function signalAll(pids, signal) {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

/**
 * `pid` and its descendants through /proc/PID/task/TID/children (cheap: no scan of all of /proc, which
 * matters while 200 sshd and their sessions are alive and we sample every few ms).
 */
export function descendants(pid) {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    let tasks;
    try {
      tasks = readdirSync(`/proc/${out[i]}/task`);
    } catch {
      continue;
    }
    for (const tid of tasks) {
      try {
        const kids = readFileSync(`/proc/${out[i]}/task/${tid}/children`, 'utf8').trim();
        if (kids) for (const k of kids.split(' ')) out.push(Number(k));
      } catch {
        // gone meanwhile
      }
    }
  }
  return out;
}

/** { rss, hwm } in bytes from /proc/PID/status, or undefined once gone. */
export function memoryOf(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rss = /VmRSS:\s+(\d+) kB/.exec(s);
    const hwm = /VmHWM:\s+(\d+) kB/.exec(s);
    return { rss: rss ? Number(rss[1]) * 1024 : 0, hwm: hwm ? Number(hwm[1]) * 1024 : 0 };
  } catch {
    return undefined;
  }
}

/** Machine-wide CPU jiffies { busy, total } from /proc/stat (all cores). */
export function cpuJiffies() {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

/** CPU jiffies (utime+stime) of every live process: pid → { comm, ppid, ticks }. */
export function allProcessTicks() {
  const out = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(Number(entry), { comm, ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/**
 * CPU jiffies of `pids` and of every child they have reaped (utime + stime + cutime + cstime): for a long-lived
 * parent such as an sshd listener, the exact CPU of every session process that ended since it started, however
 * short-lived, which a sampler misses.
 */
export function ticksWithReapedChildren(pids) {
  let sum = 0;
  for (const pid of pids) {
    const f = statFields(pid);
    if (f) sum += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
  }
  return sum;
}
