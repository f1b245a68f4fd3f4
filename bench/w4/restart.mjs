// W4's measuring process: a fresh process (plain node, no loader, as `celeriac worker`
// runs) opens a data dir holding the pending jobs with its worker threads starting while
// the journal is read, and waits for the first job's mark (Date.now() written by the task
// `bench.first`). Prints {"first_job_ms", "open_ms", "peak_rss_mb", "recovery"}.
// Usage: node bench/w4/restart.mjs <task module> <data dir> <threads> <mark file>
import { existsSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { createCeleriac } from '../../dist/index.js';

const [tasks, dir, threads, mark] = process.argv.slice(2);
process.env.CELERIAC_BENCH_MARK = mark;
const t0 = performance.now();
const app = await createCeleriac({ dir, tasks: [tasks], concurrency: Number(threads), logger: false, start: true });
const openMs = performance.now() - t0;
const deadline = Date.now() + 120_000;
while (!existsSync(mark)) {
  if (Date.now() > deadline) throw new Error('no job ran within 120 s of the start');
  await new Promise((r) => setTimeout(r, 1));
}
const firstAt = Number(readFileSync(mark, 'utf8'));
if (!(firstAt > performance.timeOrigin))
  throw new Error(`bad first-job mark ${JSON.stringify(readFileSync(mark, 'utf8'))} (process started at ${performance.timeOrigin})`);
const out = {
  first_job_ms: firstAt - performance.timeOrigin,
  open_ms: openMs,
  peak_rss_mb: process.resourceUsage().maxRSS / 1024,
  recovery: app.recovery,
};
process.stdout.write(`${JSON.stringify(out)}\n`);
await app.close({ timeout: 10 });
