// Memory soak (issue #4): steady traffic through one app for a fixed time, sampling the
// process's RSS and heap, to show whether memory stays flat once finished jobs start to
// age out (resultTtl). `npm run bench:soak -- --minutes=10 --rate=1000 --ttl=60s`.
// Prints one JSON line per sample and a summary; writes bench/results/soak-<time>.json.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createCeleriac, type JobHandle } from '../dist/index.js';
import ms from 'ms';
import { makePayload } from './params.js';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    rate: { type: 'string', default: '1000' },
    ttl: { type: 'string', default: '60s' },
    'sample-every': { type: 'string', default: '10' },
  },
});
const minutes = Number(values.minutes);
const rate = Number(values.rate);
const sampleEverySec = Number(values['sample-every']);
if (!(minutes > 0) || !(rate > 0) || !(sampleEverySec > 0))
  throw new Error('--minutes, --rate and --sample-every must be positive numbers');

const TASKS = fileURLToPath(new URL('./tasks/bench.ts', import.meta.url));
const TICK_MS = 10;
const perTick = Math.max(1, Math.round((rate * TICK_MS) / 1000));

interface Sample {
  t_s: number;
  rss_mb: number;
  heap_used_mb: number;
  external_mb: number;
  jobs_in_table: number;
  sent: number;
  completed: number;
}

const dir = mkdtempSync(join(tmpdir(), 'celeriac-soak-'));
const app = await createCeleriac({ dir: join(dir, 'data'), tasks: [TASKS], concurrency: 2, resultTtl: values.ttl, logger: false });
await app.start();

let sent = 0;
let completed = 0;
let failed: unknown;
const samples: Sample[] = [];
const t0 = Date.now();
const mb = (n: number) => Math.round((n / 1024 / 1024) * 10) / 10;

async function sample(): Promise<void> {
  const m = process.memoryUsage();
  const s: Sample = {
    t_s: Math.round((Date.now() - t0) / 1000),
    rss_mb: mb(m.rss),
    heap_used_mb: mb(m.heapUsed),
    external_mb: mb(m.external + m.arrayBuffers),
    jobs_in_table: Object.values(await app.counts()).reduce((a, b) => a + b, 0),
    sent,
    completed,
  };
  samples.push(s);
  process.stdout.write(`${JSON.stringify({ bench: 'soak-sample', ...s })}\n`);
}

// Steady traffic: every TICK_MS one sendMany of perTick jobs; results awaited through
// the handles, as a web app that polls its jobs would. A tick that finds the previous
// send still pending is skipped (the rate is then what the system sustained).
let inFlight = false;
const traffic = setInterval(() => {
  if (inFlight) return;
  inFlight = true;
  const batch = Array.from({ length: perTick }, () => [makePayload(sent++)]);
  app
    .sendMany<number>('bench.noop', batch)
    .then((handles: JobHandle<number>[]) => {
      inFlight = false;
      for (const h of handles)
        h.result().then(
          () => completed++,
          (err) => (failed ??= err),
        );
    })
    .catch((err) => (failed ??= err));
}, TICK_MS);
await sample();
const sampler = setInterval(() => void sample(), sampleEverySec * 1000);

await new Promise((r) => setTimeout(r, minutes * 60_000));
clearInterval(traffic);
clearInterval(sampler);
await app.idle();
await sample();
await app.close();
rmSync(dir, { recursive: true, force: true });
if (failed) throw failed;

// The curve: the first sample after one TTL has passed (the table has reached its steady
// size) against the last one.
const ttlSeconds = ms(values.ttl as '1s') / 1000;
const steadyFrom = samples.find((s) => s.t_s >= 60 + ttlSeconds) ?? samples[0]!;
// The last sample taken under traffic (the very last one is after idle()).
const end = samples[samples.length - 2] ?? samples[samples.length - 1]!;
const summary = {
  bench: 'soak',
  minutes,
  rate_target: rate,
  rate_achieved: Math.round(end.completed / (end.t_s || 1)),
  result_ttl: values.ttl,
  completed,
  start: samples[0],
  steady_from: steadyFrom,
  end,
  rss_growth_mb_after_steady: Math.round((end.rss_mb - steadyFrom.rss_mb) * 10) / 10,
  heap_growth_mb_after_steady: Math.round((end.heap_used_mb - steadyFrom.heap_used_mb) * 10) / 10,
};
process.stdout.write(`${JSON.stringify(summary)}\n`);
const out = fileURLToPath(new URL('./results/', import.meta.url));
mkdirSync(out, { recursive: true });
writeFileSync(join(out, `soak-${new Date().toISOString().replace(/[:.]/g, '-')}.json`), JSON.stringify({ summary, samples }, null, 2));
