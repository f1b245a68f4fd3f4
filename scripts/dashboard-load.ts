// The dashboard under load (issue 18): with the dashboard open and streaming while 1,000
// jobs/s run in the same process, how fast the host's own HTTP endpoint still answers
// (autocannon, p99); then, with 1M jobs on record, how long the jobs page takes to find a
// job by id. Prints the figures; no pass/fail on time (this machine is shared).
// Usage: node --import tsx scripts/dashboard-load.ts [--seconds 10] [--rate 1000] [--jobs 1000000]
import { createServer } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import { createCeleriac } from '../src/index.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    rate: { type: 'string', default: '1000' },
    jobs: { type: 'string', default: '1000000' },
  },
});
const seconds = Number(values.seconds);
const rate = Number(values.rate);
const onRecord = Number(values.jobs);

const dir = await mkdtemp(join(tmpdir(), 'celeriac-dashboard-load-'));
const app = await createCeleriac({
  dir: join(dir, 'data'),
  tasks: [new URL('../test/fixtures/dashboard', import.meta.url).pathname],
  logger: false,
  start: true,
  resultTtl: '1d',
});
const dashboard = app.dashboard({ basePath: '/dashboard' });
const handlerRef = { current: dashboard };
const server = createServer((req, res) =>
  handlerRef.current(req, res, () => {
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end('ok'); // the host's own endpoint
  }),
);
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
const auth = { Authorization: `Bearer ${dashboard.token}` };

const stream = new AbortController();
let batches = 0;

// 1,000 jobs/s: a tenth of them every 100 ms.
let sent = 0;
let done = 0;
app.on('succeeded', () => done++);
const producer = setInterval(() => {
  const n = Math.round(rate / 10);
  sent += n;
  void app.sendMany(
    'demo.echo',
    Array.from({ length: n }, (_, i) => [i]),
  );
}, 100);

// Warm up: the pool's threads load the task module (tsx) before anything is measured.
while (done < rate) await new Promise((r) => setTimeout(r, 100));
// autocannon in its own process: in this one it would take the event loop it measures.
const bin = createRequire(import.meta.url).resolve('autocannon/autocannon.js');
async function measure(what: string): Promise<void> {
  const doneBefore = done;
  const batchesBefore = batches;
  const { stdout } = await promisify(execFile)(process.execPath, [bin, '--json', '-c', '10', '-d', String(seconds), `${origin}/health`], {
    maxBuffer: 16 << 20,
  });
  const result = JSON.parse(stdout) as { requests: { total: number }; latency: { p50: number; p99: number; max: number } };
  console.log(
    `${what}: host endpoint ${result.requests.total} requests in ${seconds} s, latency p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, max ${result.latency.max} ms; ${((done - doneBefore) / seconds).toFixed(0)} jobs/s succeeded (target ${rate}); ${batches - batchesBefore} SSE batches`,
  );
}
// The same load without the dashboard listening first (what the machine alone gives), then with it streaming.
handlerRef.current.close();
await measure('no dashboard (baseline)');
const dashboard2 = app.dashboard({ basePath: '/dashboard', token: dashboard.token! });
handlerRef.current = dashboard2;
void (async () => {
  const res = await fetch(`${origin}/dashboard/api/events`, { headers: auth, signal: stream.signal });
  for await (const chunk of res.body!)
    batches += (
      Buffer.from(chunk as Uint8Array)
        .toString()
        .match(/event: batch/g) ?? []
    ).length;
})().catch(() => undefined);
await measure('dashboard streaming');
stream.abort();
clearInterval(producer);
await app.idle();

// 1M jobs on record, then search by id through the jobs API.
const chunk = 10_000;
const started = Date.now();
let probe = '';
for (let i = 0; i < onRecord; i += chunk) {
  const handles = await app.sendMany(
    'demo.echo',
    Array.from({ length: Math.min(chunk, onRecord - i) }, (_, k) => [`job ${i + k}`]),
    { countdown: 86_400 },
  );
  if (i < onRecord / 2 && i + chunk >= onRecord / 2) probe = handles[0]!.id;
}
console.log(`${onRecord} jobs on record after ${((Date.now() - started) / 1000).toFixed(1)} s`);
const c0 = performance.now();
await app.counts();
console.log(`app.counts() with ${onRecord} on record: ${(performance.now() - c0).toFixed(0)} ms (the overview reuses it for 1 s)`);
// Writing that many jobs sets off compactions (snapshot writes); let them finish first.
await app.idle();
await new Promise((r) => setTimeout(r, 2000));
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();
const g0 = performance.now();
await app.get(probe);
const direct = performance.now() - g0;
const times: number[] = [];
for (let i = 0; i < 20; i++) {
  const t0 = performance.now();
  // A fresh connection each time: the pooled one may have been closed by the server while the jobs were written.
  const res = await fetch(`${origin}/dashboard/api/jobs?q=${encodeURIComponent(probe)}`, { headers: { ...auth, Connection: 'close' } });
  const body = (await res.json()) as { jobs: { id: string }[] };
  times.push(performance.now() - t0);
  if (body.jobs[0]?.id !== probe) throw new Error(`search by id did not find ${probe}`);
}
times.sort((a, b) => a - b);
loopDelay.disable();
console.log(
  `search by id with ${onRecord} on record (20 requests): median ${times[10]!.toFixed(1)} ms, max ${times[19]!.toFixed(1)} ms; app.get() itself ${direct.toFixed(2)} ms; the host's event loop meanwhile: delay p99 ${(loopDelay.percentile(99) / 1e6).toFixed(0)} ms, max ${(loopDelay.max / 1e6).toFixed(0)} ms`,
);
const t0 = performance.now();
await (await fetch(`${origin}/dashboard/api/jobs`, { headers: { ...auth, Connection: 'close' } })).json();
console.log(`first page of the jobs list (a full scan of the record): ${(performance.now() - t0).toFixed(0)} ms`);

dashboard2.close();
server.closeAllConnections();
server.close();
await app.close({ timeout: 5 });
await rm(dir, { recursive: true, force: true });
