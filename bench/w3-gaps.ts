// Where W3's efficiency goes: W3's 2,000 CPU jobs (sent as W3 sends them) with each job
// timed in the thread that ran it, to split every worker thread's wall time into running
// jobs, waiting before its first job, idle between jobs and idle after its last; plus the
// CPU time of each OS thread of the process (/proc/self/task: the host's event loop, the
// worker threads, libuv's pool doing the fsyncs), since on 2 cores whatever the host
// spends is taken from the workers.
// Usage: npm run build && node --import tsx bench/w3-gaps.ts celeriac|piscina [jobs=2000]
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { createCeleriac } from '../dist/index.js';
import { chunks } from './common.js';
import { cpuWork, makePayload } from './params.js';

const system = process.argv[2] ?? 'celeriac';
const N = Number(process.argv[3] ?? 2000);
const THREADS = 2;
const TASKS = fileURLToPath(new URL('./tasks/timed.mjs', import.meta.url));
type Timing = [threadId: number, start: number, end: number];
const epochNow = () => performance.timeOrigin + performance.now();

/** CPU ms of every OS thread of this process, by tid (with its name). */
function threadCpu(): Map<number, { name: string; ms: number }> {
  const tick = 10; // USER_HZ = 100
  const out = new Map<number, { name: string; ms: number }>();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(Number(tid), { name, ms: (Number(f[11]) + Number(f[12])) * tick });
    } catch {
      // the thread exited meanwhile
    }
  }
  return out;
}

function singleJobMs(): number {
  for (let i = 0; i < 20; i++) cpuWork();
  const t: number[] = [];
  for (let i = 0; i < 200; i++) {
    const t0 = performance.now();
    cpuWork();
    t.push(performance.now() - t0);
  }
  return t.sort((a, b) => a - b)[100]!;
}

/** Taken at the first send and at the last completion: what the run cost, start-up and close aside. */
const marks: { cpu: Map<number, { name: string; ms: number }>; elu: ReturnType<typeof performance.eventLoopUtilization> }[] = [];
const mark = () => marks.push({ cpu: threadCpu(), elu: performance.eventLoopUtilization() });

/** Per job, how long after it ended in its thread the sender learned of its result. */
const reportDelays: number[] = [];
const reported = (t: Timing): Timing => {
  reportDelays.push(epochNow() - t[2]);
  return t;
};

async function runCeleriac(): Promise<{ timings: Timing[]; close: () => Promise<void>; t0: number; t1: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'w3-gaps-'));
  const app = await createCeleriac({ dir, tasks: [TASKS], concurrency: THREADS, logger: false });
  await app.start();
  const batches = chunks(N, 1000, (i) => [makePayload(i)]);
  mark();
  const t0 = epochNow();
  const pending: Promise<Timing[]>[] = [];
  for (const batch of batches) {
    const handles = await app.sendMany<Timing>('bench.cpu-timed', batch);
    pending.push(Promise.all(handles.map((h) => h.result().then(reported))));
  }
  const timings = (await Promise.all(pending)).flat();
  const t1 = epochNow();
  mark();
  return {
    timings,
    t0,
    t1,
    close: async () => {
      await app.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function runPiscina(): Promise<{ timings: Timing[]; close: () => Promise<void>; t0: number; t1: number }> {
  const p = new Piscina({ filename: TASKS, minThreads: THREADS, maxThreads: THREADS, idleTimeout: 60_000 });
  await Promise.all(Array.from({ length: THREADS }, (_, i) => p.run(makePayload(i), { name: 'cpuTimed' })));
  const payloads = Array.from({ length: N }, (_, i) => makePayload(i));
  mark();
  const t0 = epochNow();
  const timings = await Promise.all(payloads.map((x) => (p.run(x, { name: 'cpuTimed' }) as Promise<Timing>).then(reported)));
  const t1 = epochNow();
  mark();
  return { timings, t0, t1, close: () => p.destroy() };
}

const single = singleJobMs();
const { timings, t0, t1, close } = system === 'piscina' ? await runPiscina() : await runCeleriac();
await close();
const [before, after] = marks as [(typeof marks)[0], (typeof marks)[0]];
const elu = performance.eventLoopUtilization(after.elu, before.elu);
const cpuBefore = before.cpu;
const cpuAfter = after.cpu;

const wall = t1 - t0;
const r = (x: number) => Math.round(x * 100) / 100;
const byThread = new Map<number, Timing[]>();
for (const t of timings) {
  const list = byThread.get(t[0]) ?? [];
  list.push(t);
  byThread.set(t[0], list);
}
const threads = [...byThread].map(([threadId, list]) => {
  list.sort((a, b) => a[1] - b[1]);
  const gaps = list.slice(1).map((t, i) => t[1] - list[i]![2]);
  const sorted = [...gaps].sort((a, b) => a - b);
  const pct = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
  const run = list.reduce((s, t) => s + (t[2] - t[1]), 0);
  return {
    threadId,
    jobs: list.length,
    runMs: r(run),
    meanJobMs: r(run / list.length),
    beforeFirstMs: r(list[0]![1] - t0),
    betweenMs: r(gaps.reduce((s, g) => s + g, 0)),
    gapP50Ms: r(pct(50)),
    gapP90Ms: r(pct(90)),
    gapP99Ms: r(pct(99)),
    gapMaxMs: r(sorted.at(-1) ?? 0),
    /** Gaps of more than 0.5 ms: the thread waited for the host (its own turn between two queued jobs is ~0.1 ms). */
    waits: gaps.filter((g) => g > 0.5).length,
    afterLastMs: r(t1 - list.at(-1)![2]),
  };
});
const cpu = [...cpuAfter]
  .map(([tid, { name, ms }]) => ({ tid, name, ms: ms - (cpuBefore.get(tid)?.ms ?? 0) }))
  .filter((t) => t.ms > 0)
  .sort((a, b) => b.ms - a.ms);
process.stdout.write(
  `${JSON.stringify({
    system,
    node: process.version,
    jobs: N,
    wallMs: r(wall),
    singleJobMs: r(single),
    efficiency: r((N * single) / (wall * THREADS)),
    hostLoopUtilization: r(elu.utilization),
    hostCpuMs: cpu.find((t) => t.tid === process.pid)?.ms ?? 0,
    threadCpuMs: cpu.map((t) => `${t.tid === process.pid ? 'host' : t.name}:${t.ms}`).join(' '),
    load: (await import('node:os')).loadavg().map(r),
    reportDelayMs: (() => {
      const d = [...reportDelays].sort((a, b) => a - b);
      return { p50: r(d[Math.floor(d.length / 2)] ?? 0), p90: r(d[Math.floor(d.length * 0.9)] ?? 0) };
    })(),
    threads,
  })}\n`,
);
