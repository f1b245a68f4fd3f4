// Start-up timeline: bench/startup/celeriac.mjs's steps with the time of each, from the
// process's start (performance.now()), and the process's CPU at the first result.
// 'spawned' is the first Worker's construction; 'taskModule' (the discovering thread has
// imported the task module) is taken in the thread, on the host's clock (timeOrigin +
// now()), by a task module written for the run that imports the measured dist: an event
// the host observed would wait for the host's event loop.
// Usage: node bench/startup-timeline.mjs [--dist=dir[,dir2]] [--ts] [--reps=5] [--verbose]
//   Each rep is a fresh process per dist, the dists interleaved; prints each mark's median
//   and range per dist ('cpu': the process's CPU ms at the first result).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
if (process.argv[2] === '--child') {
  const { performance } = await import('node:perf_hooks');
  const marks = { first: performance.now() };
  const [, , , dist, tasks, dir] = process.argv;
  // The spawn marked in Worker's constructor: process 'worker' comes later, once the host's
  // event loop gets to it (on Node 24, after the import of app.js that follows the spawn).
  const { createRequire, syncBuiltinESMExports } = await import('node:module');
  const threads = createRequire(import.meta.url)('node:worker_threads');
  threads.Worker = class extends threads.Worker {
    constructor(...args) {
      marks.spawned ??= performance.now();
      super(...args);
    }
  };
  syncBuiltinESMExports();
  const { createCeleriac } = await import(pathToFileURL(join(dist, 'index.js')).href);
  marks.indexJs = performance.now();
  const app = await createCeleriac({ dir, tasks: [tasks], concurrency: 2, logger: false });
  marks.created = performance.now();
  await app.start();
  marks.started = performance.now();
  const job = await app.send('startup.noop', [{ id: 7 }]);
  marks.sent = performance.now();
  const result = await job.result();
  marks.result = performance.now();
  Object.assign(marks, globalThis.__m); // a copy of dist with marks of its own, if any
  const cpu = process.cpuUsage();
  marks.cpu = (cpu.user + cpu.system) / 1000;
  if (result[0] !== 7) throw new Error(`the job returned ${JSON.stringify(result)}`);
  marks.taskModule = result[1] - performance.timeOrigin;
  // 'first' from the process's start (Node's own start-up); the others from the script's first line.
  for (const k of Object.keys(marks)) if (k !== 'first' && k !== 'cpu') marks[k] -= marks.first;
  for (const k of Object.keys(marks)) marks[k] = Math.round(marks[k] * 10) / 10;
  process.stdout.write(`${JSON.stringify(marks)}\n`);
  await app.close();
} else {
  const args = Object.fromEntries(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=')));
  const dists = (args.dist ?? join(here, '../dist')).split(',').map((d) => resolve(d));
  const ext = 'ts' in args ? 'ts' : 'mjs';
  const rows = new Map(dists.map((d) => [d, []]));
  // Dists interleaved: a loaded machine's drift falls on each alike.
  for (let i = 0; i < Number(args.reps ?? 5); i++) {
    for (const dist of dists) {
      const dir = mkdtempSync(join(tmpdir(), 'celeriac-timeline-'));
      const tasks = join(dir, `tasks.${ext}`);
      writeFileSync(
        tasks,
        [
          "import { performance } from 'node:perf_hooks';",
          `import { task } from ${JSON.stringify(pathToFileURL(join(dist, 'index.js')).href)};`,
          'const mark = performance.timeOrigin + performance.now();',
          `export const noop = task('startup.noop', (p${ext === 'ts' ? ': { id: number }' : ''}) => [p.id, mark]);`,
          '',
        ].join('\n'),
      );
      try {
        const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', dist, tasks, join(dir, 'data')], {
          encoding: 'utf8',
        });
        if (r.status !== 0) throw new Error(r.stderr);
        rows.get(dist).push(JSON.parse(r.stdout));
        if ('verbose' in args) process.stdout.write(`${dist} ${r.stdout}`);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  }
  const sorted = (xs) => xs.sort((a, b) => a - b);
  for (const [dist, rs] of rows) {
    const line = Object.keys(rs[0]).map((k) => {
      const xs = sorted(rs.map((r) => r[k]));
      return `${k} ${xs[xs.length >> 1]} (${xs[0]}–${xs.at(-1)})`;
    });
    process.stdout.write(
      `${dist}: median (range) of ${rs.length}, ms ('first': from the process's start; the rest from the script's first line)\n  ${line.join(', ')}\n`,
    );
  }
}
