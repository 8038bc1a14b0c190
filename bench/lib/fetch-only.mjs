#!/usr/bin/env node
// Diagnostic for bench/fetch.mjs: auditsweep's fetch layer alone, no parser. Opens a session with the built
// library (dist/fetch/session.js), reads one file through the SFTP transport (dist/fetch/sftp-transport.js)
// and throws the bytes away, so the difference to `auditsweep sweep` is the parser's and the CSV writer's.
//
//   node bench/lib/fetch-only.mjs --targets FILE --user U --identity KEY --known-hosts KH
//        [--concurrency 32] [--connect-concurrency 8] [--path F]
// FILE is a JSON list of { address, port }; hosts are collected `concurrency` at a time, with at most
// `connect-concurrency` connection attempts at once (the library's own limiter, as `auditsweep sweep` does).
// Prints one JSON line: { hosts, bytes, wallMs, connectMsMedian, readMsMedian, cipher }.
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const DIST = join(resolve(dirname(fileURLToPath(import.meta.url)), '..', '..'), 'dist');
const { openSession } = await import(pathToFileURL(join(DIST, 'fetch', 'session.js')).href);
const { createSftpTransport } = await import(pathToFileURL(join(DIST, 'fetch', 'sftp-transport.js')).href);
const { createAuthSources } = await import(pathToFileURL(join(DIST, 'fetch', 'auth.js')).href);
const { createConnectLimiter } = await import(pathToFileURL(join(DIST, 'fetch', 'connect-limiter.js')).href);

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  if (i >= 0 && i + 1 < process.argv.length) return process.argv[i + 1];
  if (fallback === undefined) throw new Error(`--${name} is required`);
  return fallback;
}

const filePath = arg('path', '/var/log/audit/audit.log');
const user = arg('user');
const identity = arg('identity');
const targets = JSON.parse(readFileSync(arg('targets'), 'utf8'));
const concurrency = Number(arg('concurrency', '32'));
const connectLimiter = createConnectLimiter(Number(arg('connect-concurrency', '8')));
const auth = createAuthSources({ identityFiles: [identity], agentSocket: null });
const knownHostsFiles = [arg('known-hosts')];
const source = { kind: 'bench' };

function inventoryHost(i, { address, port }) {
  return {
    name: `h${i}`,
    address,
    port,
    user,
    identityFiles: [identity],
    jump: [],
    transport: 'sftp',
    logPath: filePath,
    groups: [],
    tags: [],
    vars: {},
    from: Object.fromEntries(
      ['address', 'port', 'user', 'identityFiles', 'jump', 'transport', 'logPath'].map((k) => [k, source]),
    ),
    origin: { file: 'bench' },
  };
}

/** One host: connect, read the whole file, drop the bytes, close. */
async function collect(host) {
  const t0 = performance.now();
  const session = await openSession(host, { knownHostsFiles, auth, connectLimiter });
  const t1 = performance.now();
  try {
    const transport = createSftpTransport(await session.sftp(), { user });
    let bytes = 0;
    for await (const chunk of transport.read(filePath)) bytes += chunk.length;
    return {
      bytes,
      connectMs: t1 - t0,
      readMs: performance.now() - t1,
      cipher: session.facts.algorithms?.cipher.serverToClient,
    };
  } finally {
    await session.close();
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const started = performance.now();
const results = [];
let next = 0;
await Promise.all(
  Array.from({ length: Math.min(concurrency, targets.length) }, async () => {
    while (next < targets.length) {
      const i = next++;
      results.push(await collect(inventoryHost(i, targets[i])));
    }
  }),
);
process.stdout.write(
  `${JSON.stringify({
    hosts: results.length,
    bytes: results.reduce((a, r) => a + r.bytes, 0),
    wallMs: performance.now() - started,
    connectMsMedian: median(results.map((r) => r.connectMs)),
    readMsMedian: median(results.map((r) => r.readMs)),
    cipher: results[0]?.cipher,
  })}\n`,
);
