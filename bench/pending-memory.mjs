// What a pending job costs an app's process once it is at rest, both ways a million pending
// jobs arise, through the public API of a built dist: RSS and heap per job above an app
// opened on an empty data dir (`baseline`), after full GCs, each in a fresh process.
// `sent`: the app sends N jobs (W4's 100-byte payload, ids drawn by celeriac) with sendMany
// in calls of 1,000. `loaded`: the app opens a data dir holding N pending jobs (written once
// by an app as above and closed; copied fresh for each run). No job runs (`start: false`; the
// task marks a file if one does, and every count but `pending` must be 0); peak RSS
// (resourceUsage().maxRSS) beside, which includes the transient cost of the sends or the read.
// Then, after --idle seconds more with nothing to do (default 40), RSS and heap again
// (`idle*`): V8's memory reducer, which runs on its own a few seconds after a full GC while
// the app allocates little, gives back the young generation a bulk grew and compacts.
// Prints one JSON line per case; with --reps=K the cases run K times interleaved (baseline,
// sent, loaded, baseline, …), each per-job figure against its own repetition's baseline.
// node bench/pending-memory.mjs [--n=1000000] [--dist=<dir with index.js>] [--case=sent|loaded|both] [--reps=1] [--idle=40]
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const arg = (name, fallback) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const self = fileURLToPath(import.meta.url);
const here = fileURLToPath(new URL('.', import.meta.url));
const dist = resolve(arg('dist', join(here, '../dist')));
const n = Number(arg('n', '1000000'));
const reps = Number(arg('reps', '1'));
const which = arg('case', 'both');
const idleS = Number(arg('idle', '40'));
const BULK = 1000;
/** W4's worker threads (bench/params.ts CONCURRENCY on this 2-core machine). */
const CONCURRENCY = 2;
const CHILD_TIMEOUT_MS = 180_000;

/** params.ts's payload (100 bytes of JSON), here so that plain node runs this file. */
function makePayload(i) {
  const p = { id: i, kind: 'noop', tenant: `tenant-${i % 97}`, pad: '' };
  p.pad = 'x'.repeat(100 - Buffer.byteLength(JSON.stringify(p)));
  return p;
}

const fail = (message) => {
  process.stderr.write(`pending-memory: ${message}\n`);
  process.exit(1);
};

// --- a child: one app, one measurement ----------------------------------------------

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Waits for a compaction the sends or the open started (more than compactAfterBytes of
 * journal): while it writes the snapshot (`snapshot.db.tmp`, the one look inside the data
 * dir) it holds the whole snapshot's text, which is not the pending jobs' steady cost.
 */
async function compactionDone(dataDir) {
  const deadline = Date.now() + 60_000;
  while (readdirSync(dataDir).some((f) => f.endsWith('.tmp'))) {
    if (Date.now() > deadline) fail(`a snapshot was still being written in ${dataDir} 60 s after the last send`);
    await sleep(200);
  }
}

/**
 * Full GCs until the process is at rest: several, then a second's pause and one more
 * until RSS moves less than 0.5% (V8 and the allocator give pages back over seconds).
 */
async function settle() {
  for (let i = 0; i < 4; i++) globalThis.gc();
  let last = 0;
  for (let i = 0; i < 20; i++) {
    await sleep(1000);
    globalThis.gc();
    const rss = process.memoryUsage().rss;
    if (Math.abs(rss - last) < rss * 0.005) return;
    last = rss;
  }
}

/** Every count 0 but `pending`, which is `expected`; and no job's mark. */
async function checkPending(app, expected, ranMark) {
  if (existsSync(ranMark)) fail(`a job ran (its task wrote ${ranMark}): the figure would not be of pending jobs`);
  const counts = await app.counts();
  const others = Object.entries(counts).filter(([state, k]) => state !== 'pending' && k !== 0);
  if (counts.pending !== expected || others.length > 0)
    fail(`expected ${expected} pending jobs and nothing else, found ${JSON.stringify(counts)}`);
}

async function child(kind, dataDir, tasks, ranMark) {
  if (typeof globalThis.gc !== 'function') fail('the child needs --expose-gc');
  const { createCeleriac } = await import(pathToFileURL(join(dist, 'index.js')).href);
  const t0 = performance.now();
  const app = await createCeleriac({ dir: dataDir, tasks: [tasks], concurrency: CONCURRENCY, logger: false, start: false });
  const openMs = performance.now() - t0;
  const expected = kind === 'baseline' ? 0 : n;
  let sendMs;
  if (kind === 'sent' || kind === 'prep') {
    const t1 = performance.now();
    for (let start = 0; start < n; start += BULK) {
      const batch = Array.from({ length: Math.min(BULK, n - start) }, (_, j) => [makePayload(start + j)]);
      await app.sendMany('bench.noop', batch);
    }
    sendMs = performance.now() - t1;
  }
  if (kind === 'loaded' && app.recovery.found.pending !== n)
    fail(`the open found ${app.recovery.found.pending} pending jobs, not ${n}: ${JSON.stringify(app.recovery)}`);
  if (kind === 'prep') {
    await checkPending(app, n, ranMark);
    await app.close();
    return;
  }
  const t2 = performance.now();
  await compactionDone(dataDir);
  await settle();
  const restMs = performance.now() - t2;
  const mem = process.memoryUsage();
  await sleep(idleS * 1000);
  const idle = process.memoryUsage();
  // Where V8's heap is at rest: each space's size / used, MB.
  const { getHeapSpaceStatistics } = await import('node:v8');
  const spaces = Object.fromEntries(
    getHeapSpaceStatistics()
      .filter((x) => x.space_size >= 2 ** 20)
      .map((x) => [x.space_name, `${Math.round(x.space_size / 2 ** 20)}/${Math.round(x.space_used_size / 2 ** 20)}`]),
  );
  const out = {
    case: kind,
    rss: mem.rss,
    heapUsed: mem.heapUsed,
    heapTotal: mem.heapTotal,
    idleRss: idle.rss,
    idleHeapTotal: idle.heapTotal,
    idleSpaces: spaces,
    external: mem.external,
    arrayBuffers: mem.arrayBuffers,
    peakRss: process.resourceUsage().maxRSS * 1024,
    openMs: Math.round(openMs),
    restMs: Math.round(restMs),
    ...(sendMs !== undefined ? { sendMs: Math.round(sendMs) } : {}),
  };
  await checkPending(app, expected, ranMark);
  process.stdout.write(`${JSON.stringify(out)}\n`);
  // The data dir is thrown away: no need to wait for a close's snapshot.
  process.exit(0);
}

// --- the parent: the runs, interleaved ----------------------------------------------

/** Runs one child with --expose-gc and resolves with its JSON line (fails with its stderr). */
function run(kind, dataDir, tasks, ranMark) {
  const args = ['--expose-gc', self, `--child=${kind}`, `--n=${n}`, `--dist=${dist}`, `--idle=${idleS}`, dataDir, tasks, ranMark];
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: CHILD_TIMEOUT_MS });
  let stdout = '';
  let stderr = '';
  proc.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
  proc.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
  return new Promise((done) =>
    proc.on('close', (code, signal) => {
      if (code !== 0) fail(`the ${kind} child exited ${code ?? signal}: ${stderr.trim().split('\n').slice(-5).join(' | ')}`);
      done(kind === 'prep' ? undefined : JSON.parse(stdout.trim().split('\n').pop()));
    }),
  );
}

const range = (xs) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted.length === 1 ? sorted[0] : [sorted[0], sorted[sorted.length - 1]];
};

async function parent() {
  if (!(Number.isInteger(n) && n > 0)) fail(`--n must be a positive integer, got ${arg('n')}`);
  if (!(Number.isInteger(reps) && reps > 0)) fail(`--reps must be a positive integer, got ${arg('reps')}`);
  if (!(Number.isFinite(idleS) && idleS >= 0)) fail(`--idle must be a number of seconds, got ${arg('idle')}`);
  if (!['sent', 'loaded', 'both'].includes(which)) fail(`--case must be sent, loaded or both, got ${which}`);
  if (!existsSync(join(dist, 'index.js')))
    fail(`no ${join(dist, 'index.js')}: build it (npm run build) or pass --dist=<dir with index.js>`);
  const cases = which === 'both' ? ['sent', 'loaded'] : [which];
  const root = mkdtempSync(join(tmpdir(), 'pending-memory-'));
  const cleanUp = () => rmSync(root, { recursive: true, force: true });
  process.on('exit', cleanUp);
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(130));
  const ranMark = join(root, 'a-job-ran');
  const tasks = join(root, 'tasks.mjs');
  writeFileSync(
    tasks,
    `import { writeFileSync } from 'node:fs';\nimport { task } from ${JSON.stringify(pathToFileURL(join(dist, 'index.js')).href)};\n` +
      `export const noop = task('bench.noop', (p) => { writeFileSync(${JSON.stringify(ranMark)}, String(p.id)); return p.id; });\n`,
  );
  const loadAt = [loadavg()[0]];
  const source = join(root, 'loaded-source');
  if (cases.includes('loaded')) await run('prep', source, tasks, ranMark);
  const rows = { baseline: [], sent: [], loaded: [] };
  for (let rep = 0; rep < reps; rep++) {
    for (const kind of ['baseline', ...cases]) {
      const dataDir = join(root, `run-${rep}-${kind}`);
      if (kind === 'loaded') cpSync(source, dataDir, { recursive: true });
      const row = await run(kind, dataDir, tasks, ranMark);
      rmSync(dataDir, { recursive: true, force: true });
      rows[kind].push(row);
      process.stderr.write(`rep ${rep + 1}/${reps} ${JSON.stringify(row)}\n`);
    }
    loadAt.push(loadavg()[0]);
  }
  const base = rows.baseline;
  const per = (kind, key) => range(rows[kind].map((r, i) => Math.round((r[key] - base[i][key]) / n)));
  const mb = (xs) => range(xs.map((x) => Math.round(x / 2 ** 20)));
  for (const kind of cases) {
    const rs = rows[kind];
    const out = {
      case: kind,
      n,
      reps,
      rssBytesPerJob: per(kind, 'rss'),
      idleRssBytesPerJob: per(kind, 'idleRss'),
      heapBytesPerJob: per(kind, 'heapUsed'),
      externalBytesPerJob: per(kind, 'external'),
      arrayBufferBytesPerJob: per(kind, 'arrayBuffers'),
      rssMb: mb(rs.map((r) => r.rss)),
      heapTotalMb: mb(rs.map((r) => r.heapTotal)),
      idleHeapTotalMb: mb(rs.map((r) => r.idleHeapTotal)),
      peakRssMb: mb(rs.map((r) => r.peakRss)),
      baselineRssMb: mb(base.map((r) => r.rss)),
      baselineHeapMb: mb(base.map((r) => r.heapUsed)),
      ...(kind === 'sent' ? { sendMs: range(rs.map((r) => r.sendMs)) } : { openMs: range(rs.map((r) => r.openMs)) }),
      loadAverage: range(loadAt.map((l) => Math.round(l * 100) / 100)),
    };
    process.stdout.write(`${JSON.stringify(out)}\n`);
  }
}

const childKind = arg('child');
if (childKind) {
  const [dataDir, tasks, ranMark] = process.argv.slice(2).filter((a) => !a.startsWith('--'));
  await child(childKind, dataDir, tasks, ranMark);
} else await parent();
