// Where W2's tail comes from: W2's loop (one job at a time, send then result) with each
// job split into its two waits (send: until its add is durable; result: the pool hop,
// the job, and its outcome made durable), and the host thread's GC pauses
// (PerformanceObserver 'gc') matched to the jobs they overlapped. After each job, W2's
// floor in the same minute and on the same disk: two 200-byte O_DSYNC writes in sequence
// through fs/promises (as the journal makes a job's add+start and its outcome), then one
// made with writeSync.
// Usage: npm run build && node --import tsx bench/w2-tail.ts [jobs=1000]
import { constants, mkdtempSync, rmSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { createCeleriac } from '../dist/index.js';
import { makePayload } from './params.js';

const N = Number(process.argv[2] ?? 1000);
const dir = mkdtempSync(join(tmpdir(), 'w2-tail-'));
const app = await createCeleriac({
  dir,
  tasks: [new URL('./tasks/bench.mjs', import.meta.url).pathname],
  concurrency: 2,
  logger: false,
});
await app.start();
const floorFile = await open(join(dir, 'floor.log'), constants.O_RDWR | constants.O_CREAT | constants.O_DSYNC, 0o600);
const FLOOR_BYTES = 4 * 1024 * 1024;
const zeros = Buffer.alloc(1024 * 1024);
for (let at = 0; at < FLOOR_BYTES; at += zeros.length) await floorFile.write(zeros, 0, zeros.length, at);
await floorFile.datasync();
const RECORD = Buffer.from(`${'r'.repeat(199)}\n`);
let floorAt = 0;
const floorWrite = () => {
  const at = floorAt;
  floorAt = (floorAt + RECORD.length) % FLOOR_BYTES;
  return at;
};
const gcs: { start: number; end: number }[] = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcs.push({ start: e.startTime, end: e.startTime + e.duration });
}).observe({ entryTypes: ['gc'] });
interface Timed {
  t0: number;
  send: number;
  result: number;
  total: number;
  floorPair: number;
  floorSync: number;
}
const one = async (i: number): Promise<Timed> => {
  const t0 = performance.now();
  const handle = await app.send('bench.noop', [makePayload(i)]);
  const t1 = performance.now();
  await handle.result();
  const t2 = performance.now();
  await floorFile.write(RECORD, 0, RECORD.length, floorWrite());
  await floorFile.write(RECORD, 0, RECORD.length, floorWrite());
  const t3 = performance.now();
  writeSync(floorFile.fd, RECORD, 0, RECORD.length, floorWrite());
  const t4 = performance.now();
  return { t0, send: t1 - t0, result: t2 - t1, total: t2 - t0, floorPair: t3 - t2, floorSync: t4 - t3 };
};
for (let i = 0; i < 50; i++) await one(i);
const jobs: Timed[] = [];
for (let i = 0; i < N; i++) jobs.push(await one(50 + i));
await app.close();
await floorFile.close();
rmSync(dir, { recursive: true, force: true });
await new Promise((r) => setTimeout(r, 50));

const by = (k: 'send' | 'result' | 'total' | 'floorPair' | 'floorSync') => jobs.map((j) => j[k]).sort((a, b) => a - b);
const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
const fmt = (x: number) => Math.round(x * 100) / 100;
const tail = [...jobs].sort((a, b) => b.total - a.total).slice(0, Math.ceil(N / 100));
const overlaps = (j: Timed) => gcs.filter((g) => g.end > j.t0 && g.start < j.t0 + j.total);
const gcInTail = tail.filter((j) => overlaps(j).length > 0).length;
const gcJobs = jobs.filter((j) => overlaps(j).length > 0);
process.stdout.write(
  `${JSON.stringify({
    jobs: N,
    p50: { total: fmt(pct(by('total'), 50)), send: fmt(pct(by('send'), 50)), result: fmt(pct(by('result'), 50)) },
    p99: { total: fmt(pct(by('total'), 99)), send: fmt(pct(by('send'), 99)), result: fmt(pct(by('result'), 99)) },
    floor: {
      pairP50: fmt(pct(by('floorPair'), 50)),
      pairP99: fmt(pct(by('floorPair'), 99)),
      syncP50: fmt(pct(by('floorSync'), 50)),
      syncP99: fmt(pct(by('floorSync'), 99)),
    },
    tail: tail.map((j) => ({
      total: fmt(j.total),
      send: fmt(j.send),
      result: fmt(j.result),
      floorPairAfter: fmt(j.floorPair),
      gcMs: fmt(overlaps(j).reduce((s, g) => s + g.end - g.start, 0)),
    })),
    hostGcs: gcs.length,
    hostGcMs: fmt(gcs.reduce((s, g) => s + g.end - g.start, 0)),
    jobsOverlappingAGc: gcJobs.length,
    tailJobsOverlappingAGc: `${gcInTail} of ${tail.length}`,
  })}\n`,
);
