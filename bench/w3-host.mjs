// W3's run alone, as bench/celeriac.ts runs it (2,000 CPU jobs sent with sendMany in bulks
// of 1,000, every result() awaited, the app started first), reporting what a loaded machine
// distorts least: CPU per job of the host thread and of the other threads of the process
// (/proc/self/task: the worker threads, libuv's pool doing the writes, V8's helpers), and
// the count of journal writes. With --cpu-prof=<file>, a CPU profile of the host thread
// during the run only (200 µs sampling). With --spin-ms=<ms>, each job holds its thread
// for that wall time instead of W3's fixed CPU work (tasks/spin.mjs): on a loaded machine
// the jobs then end at a quiet machine's pace (W3's job is ~1.7 ms there), so the host
// sees the message pattern a quiet run would.
// node bench/w3-host.mjs [--dist=<dir with index.js>] [--n=2000] [--spin-ms=1.7] [--cpu-prof=<file>]
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const arg = (name, fallback) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const here = fileURLToPath(new URL('.', import.meta.url));
const dist = resolve(arg('dist', join(here, '../dist')));
const n = Number(arg('n', '2000'));
const profileTo = arg('cpu-prof');
const spinMs = arg('spin-ms');
const { createCeleriac } = await import(join(dist, 'index.js'));

/** params.ts's payload (100 bytes of JSON), here so that plain node runs this file. */
function makePayload(i) {
  const p = { id: i, kind: 'noop', tenant: `tenant-${i % 97}`, pad: '' };
  p.pad = 'x'.repeat(100 - Buffer.byteLength(JSON.stringify(p)));
  return p;
}

/** CPU ms of each thread of this process so far, by tid: [user, system] (clock ticks of 10 ms). */
function threadCpuMs() {
  const out = new Map();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const fields = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').split(') ')[1].split(' ');
      out.set(Number(tid), [Number(fields[11]) * 10, Number(fields[12]) * 10]);
    } catch {
      // the thread exited meanwhile
    }
  }
  return out;
}

const dir = mkdtempSync(join(tmpdir(), 'w3-host-'));
const app = await createCeleriac({
  dir: join(dir, 'data'),
  tasks: [join(dist, spinMs ? '../bench/tasks/spin.mjs' : '../bench/tasks/bench.mjs')],
  concurrency: 2,
  logger: false,
});
await app.start();
const batches = [];
for (let s = 0; s < n; s += 1000)
  batches.push(
    Array.from({ length: Math.min(1000, n - s) }, (_, j) => (spinMs ? [makePayload(s + j), Number(spinMs)] : [makePayload(s + j)])),
  );

const session = profileTo ? new Session() : undefined;
if (session) {
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
  await session.post('Profiler.start');
}
const before = threadCpuMs();
const t0 = performance.now();
const pending = [];
for (const b of batches) {
  const handles = await app.sendMany(spinMs ? 'bench.spin' : 'bench.cpu', b);
  pending.push(Promise.all(handles.map((h) => h.result())));
}
const results = (await Promise.all(pending)).flat();
const ms = performance.now() - t0;
const after = threadCpuMs();
if (session) writeFileSync(profileTo, JSON.stringify((await session.post('Profiler.stop')).profile));
if (results.length !== n || results.some((r, i) => r !== i)) throw new Error('wrong results');
const spentSplit = [...after].map(([tid, [user, sys]]) => {
  const [user0, sys0] = before.get(tid) ?? [0, 0];
  return [tid, user - user0, sys - sys0];
});
const spent = spentSplit.map(([tid, user, sys]) => [tid, user + sys]).filter(([, cpu]) => cpu > 0);
const [, hostUser, hostSys] = spentSplit.find(([tid]) => tid === process.pid) ?? [0, 0, 0];
const host = hostUser + hostSys;
// The two busiest threads besides the host are the worker threads running the jobs.
const others = spent
  .filter(([tid]) => tid !== process.pid)
  .map(([, cpu]) => cpu)
  .sort((a, b) => b - a);
const workers = (others[0] ?? 0) + (others[1] ?? 0);
const rest = others.slice(2).reduce((s, c) => s + c, 0);
const us = (cpuMs) => +((cpuMs * 1000) / n).toFixed(1);
console.log(
  JSON.stringify({
    node: process.version,
    wallMs: Math.round(ms),
    hostCpuUsPerJob: us(host),
    hostSysUsPerJob: us(hostSys),
    workersCpuUsPerJob: us(workers),
    otherThreadsCpuUsPerJob: us(rest),
  }),
);
await app.close();
rmSync(dir, { recursive: true, force: true });
