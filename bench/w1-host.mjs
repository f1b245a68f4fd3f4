// W1's processing phase alone, as bench/celeriac.ts runs it (a warm drain of N jobs, then N
// more sent with sendMany in bulks of 1,000 and every result() awaited), reporting what a
// loaded machine does not distort much: CPU per job of the host thread (from
// /proc/self/task/<pid>/stat) and of the whole process. With --cpu-prof=<file>, a CPU
// profile of the host thread during the timed phase only (200 µs sampling); with
// --heap-prof=<file>, a sampling heap profile of the same phase, collected objects included
// (what was allocated, not what stayed). With --perf-ctl=<fifo>, `enable` and `disable` are
// written to that fifo around the timed phase, for `perf record --delay=-1
// --control=fifo:<fifo>`: an on-CPU profile of every thread (bench/perf-stages.mjs reads it).
// It also prints the minor page faults per job, of the host thread and of the process.
// node bench/w1-host.mjs [--dist=<dir with index.js>] [--n=100000] [--prefetch=N] [--cpu-prof=<file>] [--heap-prof=<file>] [--perf-ctl=<fifo>]
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const arg = (name, fallback) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const here = fileURLToPath(new URL('.', import.meta.url));
const dist = resolve(arg('dist', join(here, '../dist')));
const n = Number(arg('n', '100000'));
const prefetch = arg('prefetch');
const profileTo = arg('cpu-prof');
const heapTo = arg('heap-prof');
const perfCtl = arg('perf-ctl');
const { createCeleriac } = await import(join(dist, 'index.js'));

/** params.ts's payload (100 bytes of JSON), here so that plain node runs this file. */
function makePayload(i) {
  const p = { id: i, kind: 'noop', tenant: `tenant-${i % 97}`, pad: '' };
  p.pad = 'x'.repeat(100 - Buffer.byteLength(JSON.stringify(p)));
  return p;
}

/** Fields of /proc/<path>/stat after the command name (field 3 is [0]). */
const statFields = (path) => readFileSync(`/proc/${path}/stat`, 'utf8').split(') ')[1].split(' ');
/** CPU ms of the host thread so far (clock ticks of 10 ms). */
function hostCpuMs() {
  const fields = statFields(`self/task/${process.pid}`);
  return (Number(fields[11]) + Number(fields[12])) * 10;
}
/** Minor page faults so far: of the host thread, and of the whole process. */
const minorFaults = () => [Number(statFields(`self/task/${process.pid}`)[7]), Number(statFields('self')[7])];
const batches = (base) => {
  const out = [];
  for (let s = 0; s < n; s += 1000) out.push(Array.from({ length: Math.min(1000, n - s) }, (_, j) => [makePayload(base + s + j)]));
  return out;
};

const dir = mkdtempSync(join(tmpdir(), 'w1-host-'));
const app = await createCeleriac({
  dir: join(dir, 'data'),
  tasks: [join(dist, '../bench/tasks/bench.mjs')],
  concurrency: 2,
  logger: false,
  ...(prefetch ? { prefetch: Number(prefetch) } : {}),
});
const warm = [];
for (const b of batches(0)) warm.push(...(await app.sendMany('bench.noop', b)));
await app.start();
await Promise.all(warm.map((h) => h.result()));
warm.length = 0;

const payloads = batches(n);
const session = profileTo || heapTo ? new Session() : undefined;
session?.connect();
if (session && profileTo) {
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
  await session.post('Profiler.start');
}
if (session && heapTo) {
  await session.post('HeapProfiler.enable');
  await session.post('HeapProfiler.startSampling', {
    samplingInterval: 512,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
}
if (perfCtl) writeFileSync(perfCtl, 'enable\n');
const faults0 = minorFaults();
const host0 = hostCpuMs();
const cpu0 = process.cpuUsage();
const t0 = performance.now();
const pending = [];
for (const b of payloads) {
  const handles = await app.sendMany('bench.noop', b);
  pending.push(Promise.all(handles.map((h) => h.result())));
}
const results = (await Promise.all(pending)).flat();
const ms = performance.now() - t0;
const hostMs = hostCpuMs() - host0;
const cpu = process.cpuUsage(cpu0);
const faults = minorFaults();
if (perfCtl) writeFileSync(perfCtl, 'disable\n');
if (session && profileTo) writeFileSync(profileTo, JSON.stringify((await session.post('Profiler.stop')).profile));
if (session && heapTo) writeFileSync(heapTo, JSON.stringify((await session.post('HeapProfiler.stopSampling')).profile));
if (results.length !== n || results[0] !== n) throw new Error('wrong results');
console.log(
  JSON.stringify({
    jobsPerS: Math.round(n / (ms / 1000)),
    hostCpuUsPerJob: +((hostMs * 1000) / n).toFixed(1),
    processCpuUsPerJob: +((cpu.user + cpu.system) / n).toFixed(1),
    hostMinorFaultsPerJob: +((faults[0] - faults0[0]) / n).toFixed(3),
    processMinorFaultsPerJob: +((faults[1] - faults0[1]) / n).toFixed(3),
  }),
);
await app.close();
rmSync(dir, { recursive: true, force: true });
