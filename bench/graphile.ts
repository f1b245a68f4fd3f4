// graphile-worker 0.17's child (a throwaway PostgreSQL 15 cluster, started by run.ts):
// W1 (addJobs in 1,000s, then a runner with concurrency = cores, localQueue 500,
// completeJobBatchDelay 0), w1-single (awaited addJob) and W2. No thread pool: W3 is n/a.
// Completion = the runner's 'job:success' event. That event fires before the completion
// is committed, so W1's processing phase also waits for the jobs table to be empty.
import { EventEmitter } from 'node:events';
import { Logger, makeWorkerUtils, run, type Runner, type WorkerUtils } from 'graphile-worker';
import { type ChildContext, chunks, Completions, measureLatencies, now, runChild } from './common.js';
import { makePayload, noopJob, type Payload } from './params.js';

const silent = new Logger(() => () => {});

async function utils(ctx: ChildContext): Promise<WorkerUtils> {
  const connectionString = ctx.params.postgres?.connectionString;
  if (!connectionString) throw new Error('no PostgreSQL in the params');
  const u = await makeWorkerUtils({ connectionString, logger: silent });
  // "Data wiped before each": drop and re-create graphile-worker's schema.
  await u.withPgClient((c) => c.query('drop schema if exists graphile_worker cascade'));
  await u.migrate();
  return u;
}

async function runner(ctx: ChildContext, done: Completions): Promise<Runner> {
  const events = new EventEmitter();
  events.on('job:success', ({ job }: { job: { id: string } }) => done.signal(job.id));
  events.on('job:error', ({ job, error }: { job: { id: string }; error: unknown }) => {
    process.stderr.write(`graphile job ${job.id} failed: ${String(error)}\n`);
    process.exit(1);
  });
  return run({
    connectionString: ctx.params.postgres!.connectionString,
    concurrency: ctx.params.concurrency,
    noHandleSignals: true,
    logger: silent,
    events: events as never,
    taskList: {
      noop: async (payload) => {
        const p = payload as Payload;
        if (noopJob(p) !== p.id) throw new Error('noop');
      },
    },
    preset: { worker: { localQueue: { size: 500 }, completeJobBatchDelay: 0 } },
  });
}

async function pendingJobs(u: WorkerUtils): Promise<number> {
  const { rows } = await u.withPgClient((c) => c.query<{ n: number }>('select count(*)::int as n from graphile_worker.jobs'));
  return rows[0]!.n;
}

runChild('graphile', {
  async w1(ctx) {
    const { w1N, bulk } = ctx.params.sizes;
    const u = await utils(ctx);
    const batches = chunks(w1N, bulk, (i) => ({ identifier: 'noop', payload: makePayload(i) }));
    const t0 = now();
    for (const batch of batches) await u.addJobs(batch);
    const t1 = now();
    const done = new Completions();
    const all = done.waitForCount(w1N);
    const r = await runner(ctx, done);
    await all;
    while ((await pendingJobs(u)) > 0) await new Promise((res) => setTimeout(res, 5));
    const t2 = now();
    ctx.emit('enqueue', w1N / ((t1 - t0) / 1000));
    ctx.emit('drain', w1N / ((t2 - t1) / 1000));
    // The runner is up and has run w1N jobs: submit → all complete (committed), as every system.
    done.reset();
    const more = chunks(w1N, bulk, (i) => ({ identifier: 'noop', payload: makePayload(w1N + i) }));
    const t3 = now();
    const again = done.waitForCount(w1N);
    for (const batch of more) await u.addJobs(batch);
    await again;
    while ((await pendingJobs(u)) > 0) await new Promise((res) => setTimeout(res, 5));
    const t4 = now();
    ctx.emit('process', w1N / ((t4 - t3) / 1000));
    await r.stop();
    await u.release();
  },

  async 'w1-single'(ctx) {
    const n = ctx.params.sizes.w1SingleN;
    const u = await utils(ctx);
    const payloads = Array.from({ length: n }, (_, i) => makePayload(i));
    const t0 = now();
    for (const p of payloads) await u.addJob('noop', p);
    const t1 = now();
    ctx.emit('rate', n / ((t1 - t0) / 1000));
    await u.release();
  },

  async w2(ctx) {
    const u = await utils(ctx);
    const done = new Completions();
    const r = await runner(ctx, done);
    const one = async (p: Payload) => {
      const job = await u.addJob('noop', p);
      await done.wait(job.id);
    };
    await measureLatencies(ctx, one);
    await r.stop();
    await u.release();
  },
});
