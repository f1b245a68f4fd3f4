// The send side alone, in what a loaded machine distorts least: process CPU per job (and the
// wall rate beside it) of W1's enqueue (`bulk`: sendMany in calls of 1,000, app not
// started), of sends with 256 in flight (`concurrent`, group commit), or of awaited single
// sends (`single`). Compare builds interleaved: main's dist, the branch's, main's, …
// With --dir=/dev/shm the disk's share is near zero and what is left is the host's.
// node bench/send-cpu.mjs [bulk|concurrent|single] [--dist=<dir with index.js>] [--n=N] [--dir=<parent of the data dir>]
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const arg = (name, fallback) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const here = fileURLToPath(new URL('.', import.meta.url));
const mode = process.argv.slice(2).find((a) => !a.startsWith('--')) ?? 'bulk';
const dist = resolve(arg('dist', join(here, '../dist')));
const n = Number(arg('n', mode === 'single' ? '3000' : '100000'));
const { createCeleriac } = await import(join(dist, 'index.js'));

/** params.ts's payload (100 bytes of JSON), here so that plain node runs this file. */
function makePayload(i) {
  const p = { id: i, kind: 'noop', tenant: `tenant-${i % 97}`, pad: '' };
  p.pad = 'x'.repeat(100 - Buffer.byteLength(JSON.stringify(p)));
  return p;
}

const dir = mkdtempSync(join(arg('dir', tmpdir()), 'send-cpu-'));
const app = await createCeleriac({ dir: join(dir, 'data'), tasks: [join(here, 'tasks/bench.mjs')], concurrency: 2, logger: false });
const payloads = Array.from({ length: n }, (_, i) => makePayload(i));
const batches = [];
if (mode === 'bulk') for (let b = 0; b < n; b += 1000) batches.push(payloads.slice(b, b + 1000).map((p) => [p]));
for (let i = 0; i < 100; i++) await app.send('bench.noop', [makePayload(i)]); // warm the path

const cpu = process.cpuUsage();
const t0 = performance.now();
if (mode === 'bulk') {
  for (const batch of batches) await app.sendMany('bench.noop', batch);
} else if (mode === 'concurrent') {
  let next = 0;
  const lane = async () => {
    while (next < n) await app.send('bench.noop', [payloads[next++]]);
  };
  await Promise.all(Array.from({ length: 256 }, lane));
} else {
  for (const p of payloads) await app.send('bench.noop', [p]);
}
const wallMs = performance.now() - t0;
const { user, system } = process.cpuUsage(cpu);
console.log(
  `${process.version} ${mode} (${dist}): ${((user + system) / n).toFixed(2)} µs CPU per job, ${Math.round(n / (wallMs / 1000))} jobs/s, load ${loadavg()[0].toFixed(1)}`,
);
await app.close();
rmSync(dir, { recursive: true, force: true });
