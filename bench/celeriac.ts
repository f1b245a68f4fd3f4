// celeriac's child: W1, w1-single, w1-concurrent, W2, W3, W4 through the public API only.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
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
const W4_RESTART = fileURLToPath(new URL('./w4/restart.mjs', import.meta.url));

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
    // Process 2 (fresh, plain node as `celeriac worker` runs, no tsx in the host): open the
    // data dir with w4N pending jobs and run until the first job.
    const dataBytes = dirBytes(join(ctx.params.dataDir, 'data'));
    const mark = join(ctx.params.dataDir, 'first-job');
    const r = spawnSync(process.execPath, [W4_RESTART, TASKS_TS, join(ctx.params.dataDir, 'data'), String(ctx.params.concurrency), mark], {
      encoding: 'utf8',
      timeout: 180_000,
    });
    if (r.status !== 0)
      throw new Error(`${W4_RESTART} exited ${r.status ?? r.signal}: ${r.stderr.trim().split('\n').slice(0, 5).join(' | ')}`);
    const out = JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as {
      first_job_ms: number;
      open_ms: number;
      peak_rss_mb: number;
      recovery: unknown;
    };
    if (!(out.first_job_ms > 0)) throw new Error(`${W4_RESTART} printed ${r.stdout.trim()}`);
    ctx.emit('first_job_ms', out.first_job_ms, { recovery: out.recovery });
    ctx.emit('open_ms', out.open_ms);
    ctx.emit('peak_rss_mb', out.peak_rss_mb);
    ctx.emit('bytes_per_job', dataBytes / w4N);
  },
});
