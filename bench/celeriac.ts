// celeriac's child: W1, w1-single, w1-concurrent, W2, W3, W4 through the public API only.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
// The built package, as users run it (npm run bench builds first).
import { createCeleriac, type Celeriac, type JobHandle } from '../dist/index.js';
import {
  checkIds,
  type ChildContext,
  chunks,
  dirBytes,
  measureCpu,
  measureLatencies,
  now,
  runChild,
  startupMedianMs,
  withInFlight,
} from './common.js';
import { makePayload, type Payload } from './params.js';

/** W1–W3's task module: plain JavaScript, as Piscina's worker module is. */
const TASKS = fileURLToPath(new URL('./tasks/bench.mjs', import.meta.url));
/** W4's task module (TypeScript, as in the samples W4's history was measured with). */
const TASKS_TS = fileURLToPath(new URL('./tasks/bench.ts', import.meta.url));
const STARTUP = fileURLToPath(new URL('./startup/celeriac.mjs', import.meta.url));

function open(ctx: ChildContext, extra: { start?: boolean; tasks?: string } = {}): Promise<Celeriac> {
  const { tasks = TASKS, ...rest } = extra;
  return createCeleriac({
    dir: join(ctx.params.dataDir, 'data'),
    tasks: [tasks],
    concurrency: ctx.params.concurrency,
    logger: false,
    ...rest,
  });
}

/** Resolves with the results of `payloads` sent in bulk calls of `bulk`, each batch's results awaited alongside the next sends. */
async function sendAllAndWait(app: Celeriac, payloads: Payload[][]): Promise<number[]> {
  const pending: Promise<number[]>[] = [];
  for (const batch of payloads) {
    const handles = await app.sendMany<number>(
      'bench.noop',
      batch.map((p) => [p]),
    );
    pending.push(Promise.all(handles.map((h) => h.result())));
  }
  return (await Promise.all(pending)).flat();
}

runChild('celeriac', {
  async startup(ctx) {
    const { startupRuns } = ctx.params.sizes;
    const threads = String(ctx.params.concurrency);
    const dir = (kind: string, run: number) => join(ctx.params.dataDir, `startup-${kind}-${run}`);
    const mjs = fileURLToPath(new URL('./startup/tasks.mjs', import.meta.url));
    const ts = fileURLToPath(new URL('./startup/tasks.ts', import.meta.url));
    ctx.emit(
      'first_result_ms',
      startupMedianMs(startupRuns, STARTUP, (run) => [mjs, dir('mjs', run), threads]),
    );
    ctx.emit(
      'first_result_ts_ms',
      startupMedianMs(startupRuns, STARTUP, (run) => [ts, dir('ts', run), threads]),
    );
  },

  async w1(ctx) {
    const { w1N, bulk } = ctx.params.sizes;
    const app = await open(ctx);
    const batches = chunks(w1N, bulk, (i) => [makePayload(i)]);
    const t0 = now();
    const handles: JobHandle<number>[] = [];
    for (const batch of batches) handles.push(...(await app.sendMany<number>('bench.noop', batch)));
    const t1 = now();
    await app.start();
    const drained = await Promise.all(handles.map((h) => h.result()));
    const t2 = now();
    checkIds(drained);
    handles.length = 0;
    ctx.emit('enqueue', w1N / ((t1 - t0) / 1000));
    ctx.emit('drain', w1N / ((t2 - t1) / 1000));
    // The pool is up and has run w1N jobs: the timed phase is submit → all complete, as Piscina's.
    const payloads = chunks(w1N, bulk, (i) => makePayload(w1N + i));
    const t3 = now();
    const results = await sendAllAndWait(app, payloads);
    const t4 = now();
    checkIds(results, w1N);
    ctx.emit('process', w1N / ((t4 - t3) / 1000));
    await app.close();
  },

  async 'w1-single'(ctx) {
    const n = ctx.params.sizes.w1SingleN;
    const app = await open(ctx); // not started: enqueue only
    const payloads = Array.from({ length: n }, (_, i) => makePayload(i));
    const t0 = now();
    for (const p of payloads) await app.send('bench.noop', [p]);
    const t1 = now();
    ctx.emit('rate', n / ((t1 - t0) / 1000));
    await app.close();
  },

  async 'w1-concurrent'(ctx) {
    const { w1ConcurrentN: n, inFlight } = ctx.params.sizes;
    const app = await open(ctx); // not started: enqueue only
    const payloads = Array.from({ length: n }, (_, i) => makePayload(i));
    const t0 = now();
    await withInFlight(n, inFlight, (i) => app.send('bench.noop', [payloads[i]]));
    const t1 = now();
    ctx.emit('rate', n / ((t1 - t0) / 1000));
    await app.close();
  },

  async w2(ctx) {
    const app = await open(ctx);
    await app.start();
    const one = async (p: Payload) => {
      const result = await (await app.send<number>('bench.noop', [p])).result();
      if (result !== p.id) throw new Error(`job ${p.id} returned ${result}`);
    };
    await measureLatencies(ctx, one);
    await app.close();
  },

  async w3(ctx) {
    const { w3N, bulk } = ctx.params.sizes;
    const app = await open(ctx);
    await app.start();
    const batches = chunks(w3N, bulk, (i) => [makePayload(i)]);
    await measureCpu(ctx, async () => {
      const pending: Promise<number[]>[] = [];
      for (const batch of batches) {
        const handles = await app.sendMany<number>('bench.cpu', batch);
        pending.push(Promise.all(handles.map((h) => h.result())));
      }
      checkIds((await Promise.all(pending)).flat());
    });
    await app.close();
  },

  async w4(ctx) {
    const { w4N, w4Batch } = ctx.params.sizes;
    if (ctx.params.phase === 'prep') {
      // Process 1: write the pending jobs with celeriac itself.
      const app = await open(ctx, { tasks: TASKS_TS });
      const t0 = now();
      for (let start = 0; start < w4N; start += w4Batch) {
        const batch = Array.from({ length: Math.min(w4Batch, w4N - start) }, (_, j) => [makePayload(start + j)]);
        await app.sendMany('bench.first', batch);
      }
      ctx.emit('prep_rate', w4N / ((now() - t0) / 1000));
      await app.close();
      return;
    }
    // Process 2 (fresh): open the data dir with w4N pending jobs and run.
    const dataBytes = dirBytes(join(ctx.params.dataDir, 'data'));
    const mark = join(ctx.params.dataDir, 'first-job');
    process.env.CELERIAC_BENCH_MARK = mark;
    const t0 = now();
    // As a worker process opens it (`celeriac worker` does the same): the worker threads
    // start while the journal is read.
    const app = await open(ctx, { start: true, tasks: TASKS_TS });
    const pending = app.recovery;
    const openMs = now() - t0;
    const deadline = Date.now() + 120_000;
    while (!existsSync(mark)) {
      if (Date.now() > deadline) throw new Error('no job ran within 120 s of start()');
      await new Promise((r) => setTimeout(r, 1));
    }
    const firstAt = Number(readFileSync(mark, 'utf8'));
    if (!(firstAt > performance.timeOrigin))
      throw new Error(`bad first-job mark ${JSON.stringify(readFileSync(mark, 'utf8'))} (process started at ${performance.timeOrigin})`);
    ctx.emit('first_job_ms', firstAt - performance.timeOrigin, { recovery: pending });
    ctx.emit('open_ms', openMs);
    ctx.emit('peak_rss_mb', process.resourceUsage().maxRSS / 1024);
    ctx.emit('bytes_per_job', dataBytes / w4N);
    await app.close({ timeout: 10 });
  },
});
