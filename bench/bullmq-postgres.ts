// BullMQ's own PostgreSQL backend (createPostgresBackend), raw: W1 (addBulk in 1,000s, then
// an in-process worker) and W2, as bench/bullmq.ts runs them on Redis. The row celeriac
// on PostgreSQL is compared with. Each child takes a queue of its own.
import { Queue, Worker, createPostgresBackend, type Job } from 'bullmq';
import { trackCompletions } from './bullmq-track.js';
import { type ChildContext, chunks, measureLatencies, now, runChild } from './common.js';
import { makePayload, noopJob, type Payload } from './params.js';

function connection(ctx: ChildContext) {
  const pg = ctx.params.postgres;
  if (!pg) throw new Error('no PostgreSQL in the params');
  return { connectionString: pg.connectionString, migrate: true };
}

const queueName = (ctx: ChildContext) => `bench-${ctx.workload}-${ctx.params.rep}-${process.pid}`;

function open(ctx: ChildContext) {
  return new Queue(queueName(ctx), { connection: connection(ctx) }, createPostgresBackend);
}

function work(ctx: ChildContext) {
  const worker = new Worker(
    queueName(ctx),
    async (job: Job<Payload, number>) => noopJob(job.data),
    { connection: connection(ctx), concurrency: ctx.params.concurrency },
    createPostgresBackend,
  );
  const done = trackCompletions(worker);
  return { worker, done };
}

runChild('bullmq-postgres', {
  async w1(ctx) {
    const { w1N, bulk } = ctx.params.sizes;
    const queue = open(ctx);
    await queue.waitUntilReady();
    const batches = chunks(w1N, bulk, (i) => ({ name: 'noop', data: makePayload(i) }));
    const t0 = now();
    for (const batch of batches) await queue.addBulk(batch);
    const t1 = now();
    const { worker, done } = work(ctx);
    await done.waitForCount(w1N);
    const t2 = now();
    ctx.emit('enqueue', w1N / ((t1 - t0) / 1000));
    ctx.emit('drain', w1N / ((t2 - t1) / 1000));
    done.reset();
    const more = chunks(w1N, bulk, (i) => ({ name: 'noop', data: makePayload(w1N + i) }));
    const t3 = now();
    const all = done.waitForCount(w1N);
    for (const batch of more) await queue.addBulk(batch);
    await all;
    ctx.emit('process', w1N / ((now() - t3) / 1000));
    await worker.close();
    await queue.close();
  },

  async w2(ctx) {
    const queue = open(ctx);
    const { worker, done } = work(ctx);
    await Promise.all([queue.waitUntilReady(), worker.waitUntilReady()]);
    const one = async (p: Payload) => {
      const job = await queue.add('noop', p);
      await done.wait(job.id!);
    };
    await measureLatencies(ctx, one);
    await worker.close();
    await queue.close();
  },
});
