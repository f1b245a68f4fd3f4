// Load: N jobs (default 1,000,000) through a running app from concurrent senders, then a
// restart — every job accounted for, memory bounded. Run: npm run torture:load [-- --jobs N]
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createCeleriac } from '../../src/index.js';

const { values } = parseArgs({
  options: {
    jobs: { type: 'string', default: '1000000' },
    senders: { type: 'string', default: '4' },
    batch: { type: 'string', default: '500' },
  },
});
const N = Number(values.jobs);
const SENDERS = Number(values.senders);
const BATCH = Number(values.batch);
const tasks = [join(import.meta.dirname, 'load-tasks')];
const dir = join(await mkdtemp(join(tmpdir(), 'celeriac-load-')), 'data');
const mb = (b: number) => `${(b / 1048576).toFixed(0)} MB`;
const payload = (i: number) => ({ id: i, kind: 'noop', tenant: `tenant-${i % 97}` });

let peakRss = 0;
const rssSamples: number[] = [];
const sampler = setInterval(() => {
  const rss = process.memoryUsage().rss;
  peakRss = Math.max(peakRss, rss);
  rssSamples.push(rss);
}, 1000);

const t0 = performance.now();
const app = await createCeleriac({ dir, tasks, logger: false, concurrency: 2, prefetch: 64 });
await app.start();
let sent = 0;
const ids: string[][] = [];
await Promise.all(
  Array.from({ length: SENDERS }, async (_, s) => {
    const mine: string[] = [];
    ids.push(mine);
    for (let i = s; i < N; i += SENDERS * BATCH) {
      const argsList: unknown[][] = [];
      for (let k = 0; k < BATCH && i + k * SENDERS < N; k++) argsList.push([payload(i + k * SENDERS)]);
      // Every tenth batch goes as concurrent single sends, the rest as one bulk call.
      const handles =
        (i / (SENDERS * BATCH)) % 10 === 0
          ? await Promise.all(argsList.map((a) => app.send('load.noop', a)))
          : await app.sendMany('load.noop', argsList);
      for (const h of handles) mine.push(h.id);
      sent += handles.length;
      if (sent % 100_000 < BATCH)
        console.log(`sent ${sent} (${((performance.now() - t0) / 1000).toFixed(1)} s, rss ${mb(process.memoryUsage().rss)})`);
    }
  }),
);
const sentAt = performance.now();
await app.idle();
const doneAt = performance.now();
const counts = await app.counts();
await app.close();
console.log(
  `all sent in ${((sentAt - t0) / 1000).toFixed(1)} s; all finished ${((doneAt - t0) / 1000).toFixed(1)} s after start; ${counts.succeeded} succeeded`,
);

const r0 = performance.now();
const again = await createCeleriac({ dir, tasks, logger: false });
const reopenMs = performance.now() - r0;
let missing = 0;
let notSucceeded = 0;
for (const list of ids) {
  for (const id of list) {
    const info = await again.get(id);
    if (!info) missing++;
    else if (info.state !== 'succeeded') notSucceeded++;
  }
}
const acknowledged = ids.reduce((a, l) => a + l.length, 0);
let bytes = 0;
for (const f of await readdir(dir)) bytes += (await stat(join(dir, f))).isFile() ? (await stat(join(dir, f))).size : 0;
await again.close();
clearInterval(sampler);
const start = rssSamples.slice(0, 3);
const end = rssSamples.slice(-3);
console.log(`reopen with ${(await again.counts()).succeeded} finished jobs took ${reopenMs.toFixed(0)} ms; data dir ${mb(bytes)}`);
console.log(`rss: peak ${mb(peakRss)}, first samples ${start.map(mb).join('/')}, last ${end.map(mb).join('/')}`);
console.log(`jobs: ${N}, acknowledged: ${acknowledged}, missing: ${missing}, not succeeded: ${notSucceeded}`);
await rm(join(dir, '..'), { recursive: true, force: true });
if (missing || notSucceeded || acknowledged !== N) process.exit(1);
