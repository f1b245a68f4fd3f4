// One worker thread's start-up: from `new Worker` to its first message (ready), each in a
// fresh process, as the first thread of a start-up is. Wall ms, and CPU ms of the whole
// process over that span (the host thread only waits, so it is the thread's own CPU plus,
// on Node 20 with tsx, its hooks thread).
//   bare:    a Worker that imports bench/startup/tasks.mjs and posts, as Piscina's worker would
//            (the task modules are copied to a temp dir, each importing its --dist's entry)
//   mjs, ts: celeriac's thread entry (spawnWorker, discover mode) with tasks.mjs / tasks.ts
// Usage: node bench/thread-startup.mjs [--reps=5] [--variants=bare,mjs,ts] [--dist=dist,/other/dist]
// Variants and dists are interleaved within each rep; prints each run and the ranges.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

const arg = (name, fallback) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const one = arg('one');

if (one) {
  const dist = pathToFileURL(resolve(arg('dist', 'dist'))).href;
  const file = (ext) => join(arg('tasks'), `tasks.${ext}`);
  let spawn;
  if (one === 'bare') {
    spawn = () =>
      new Worker(
        `const { parentPort } = require('node:worker_threads');
         import(${JSON.stringify(pathToFileURL(file('mjs')).href)}).then(() => parentPort.postMessage({ t: 'ready' }));`,
        { eval: true },
      );
  } else {
    const { spawnWorker } = await import(`${dist}/pool/spawn.js`);
    const { slotBytes } = await import(`${dist}/pool/protocol.js`);
    const data = {
      mode: 'discover',
      modules: [file(one)],
      plugins: [],
      concurrency: 1,
      timeoutGraceMs: 1000,
      maxResultBytes: 1 << 20,
      slotTable: new SharedArrayBuffer(slotBytes(1)),
    };
    spawn = () => spawnWorker(data);
  }
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const worker = spawn();
  const msg = await new Promise((ok, fail) => {
    worker.once('message', ok);
    worker.once('error', fail);
  });
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  if (msg.problems?.length) throw new Error(JSON.stringify(msg.problems));
  process.stdout.write(`${JSON.stringify({ wall, cpu: (cpu.user + cpu.system) / 1000 })}\n`);
  await worker.terminate();
} else {
  const reps = Number(arg('reps', '5'));
  const variants = arg('variants', 'bare,mjs,ts').split(',');
  const dists = arg('dist', 'dist').split(',');
  const runs = new Map();
  // bench/startup's task modules, each importing its own dist's entry (as a task module must:
  // the thread's registry is that entry's), in a temp dir (an ES module package, no tsconfig) for either.
  const tasksDir = new Map();
  for (const d of dists) {
    const dir = mkdtempSync(join(tmpdir(), 'celeriac-thread-startup-'));
    writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
    for (const ext of ['mjs', 'ts']) {
      const source = readFileSync(new URL(`./startup/tasks.${ext}`, import.meta.url), 'utf8');
      writeFileSync(join(dir, `tasks.${ext}`), source.replace('../../dist/index.js', pathToFileURL(resolve(d, 'index.js')).href));
    }
    tasksDir.set(d, dir);
  }
  for (let r = 0; r < reps; r++) {
    for (const v of variants) {
      for (const d of v === 'bare' ? [dists[0]] : dists) {
        const key = v === 'bare' ? v : `${v} ${d}`;
        const out = execFileSync(
          process.execPath,
          [new URL(import.meta.url).pathname, `--one=${v}`, `--dist=${d}`, `--tasks=${tasksDir.get(d)}`],
          { encoding: 'utf8' },
        );
        const m = JSON.parse(out.trim().split('\n').at(-1));
        if (!runs.has(key)) runs.set(key, []);
        runs.get(key).push(m);
        console.log(`${key}: wall ${m.wall.toFixed(1)} cpu ${m.cpu.toFixed(1)}`);
      }
    }
  }
  const range = (xs) =>
    `${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)} (median ${xs.sort((a, b) => a - b)[xs.length >> 1].toFixed(0)})`;
  console.log(`node ${process.version}, load ${(await import('node:os')).loadavg()[0].toFixed(1)}`);
  for (const dir of tasksDir.values()) rmSync(dir, { recursive: true });
  for (const [key, ms] of runs) console.log(`${key}: wall ${range(ms.map((m) => m.wall))}, cpu ${range(ms.map((m) => m.cpu))}`);
}
