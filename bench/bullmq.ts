// BullMQ's child (Redis with AOF appendfsync always, started by run.ts): W1 (addBulk in
// 1,000s, then an in-process worker), w1-single (awaited add), W2, and W3 with a
// sandboxed processor on worker threads. Completion = the Worker's 'completed' event.
import { Redis } from 'ioredis';
import { Queue, Worker, type ConnectionOptions, type Job } from 'bullmq';
import { trackCompletions } from './bullmq-track.js';
import { type ChildContext, chunks, measureCpu, measureLatencies, now, runChild } from './common.js';
import { makePayload, noopJob, type Payload } from './params.js';

const QUEUE = 'bench';
const PROCESSOR = new URL('./bullmq-processor.mjs', import.meta.url);

/** The Redis of this run, wiped ("data wiped before each"). */
async function connection(ctx: ChildContext): Promise<ConnectionOptions> {
  const r = ctx.params.redis;
  if (!r) throw new Error('no redis-server in the params');
  const client = new Redis({ host: r.host, port: r.port, lazyConnect: true });
  await client.connect();
  await client.flushall();
  await client.quit();
  return { host: r.host, port: r.port };
}

const noop = async (job: Job<Payload, number>) => noopJob(job.data);

runChild('bullmq', {
  async w1(ctx) {
    const { w1N, bulk } = ctx.params.sizes;
    const conn = await connection(ctx);
    const queue = new Queue<Payload, number>(QUEUE, { connection: conn });
    await queue.waitUntilReady();
    const batches = chunks(w1N, bulk, (i) => ({ name: 'noop', data: makePayload(i) }));
    const t0 = now();
    for (const batch of batches) await queue.addBulk(batch);
    const t1 = now();
    const worker = new Worker<Payload, number>(QUEUE, noop, { connection: conn, concurrency: ctx.params.concurrency });
    const done = trackCompletions(worker);
    await done.waitForCount(w1N);
    const t2 = now();
    ctx.emit('enqueue', w1N / ((t1 - t0) / 1000));
    ctx.emit('drain', w1N / ((t2 - t1) / 1000));
    // The worker is up and has run w1N jobs: submit → all complete, as every system.
    done.reset();
    const more = chunks(w1N, bulk, (i) => ({ name: 'noop', data: makePayload(w1N + i) }));
    const t3 = now();
    const all = done.waitForCount(w1N);
    for (const batch of more) await queue.addBulk(batch);
    await all;
    const t4 = now();
    ctx.emit('process', w1N / ((t4 - t3) / 1000));
    await worker.close();
    await queue.close();
  },

  async 'w1-single'(ctx) {
    const n = ctx.params.sizes.w1SingleN;
    const conn = await connection(ctx);
    const queue = new Queue<Payload, number>(QUEUE, { connection: conn });
    await queue.waitUntilReady();
    const payloads = Array.from({ length: n }, (_, i) => makePayload(i));
    const t0 = now();
    for (const p of payloads) await queue.add('noop', p);
    const t1 = now();
    ctx.emit('rate', n / ((t1 - t0) / 1000));
    await queue.close();
  },

  async w2(ctx) {
    const conn = await connection(ctx);
    const queue = new Queue<Payload, number>(QUEUE, { connection: conn });
    const worker = new Worker<Payload, number>(QUEUE, noop, { connection: conn, concurrency: ctx.params.concurrency });
    const done = trackCompletions(worker);
    await Promise.all([queue.waitUntilReady(), worker.waitUntilReady()]);
    const one = async (p: Payload) => {
      const job = await queue.add('noop', p);
      await done.wait(job.id!);
    };
    await measureLatencies(ctx, one);
    await worker.close();
    await queue.close();
  },

  async w3(ctx) {
    const { w3N, bulk } = ctx.params.sizes;
    const conn = await connection(ctx);
    const queue = new Queue<Payload, number>(QUEUE, { connection: conn });
    const worker = new Worker<Payload, number>(QUEUE, PROCESSOR, {
      connection: conn,
      concurrency: ctx.params.concurrency,
      useWorkerThreads: true,
    });
    const done = trackCompletions(worker);
    await Promise.all([queue.waitUntilReady(), worker.waitUntilReady()]);
    // Bring the sandbox threads up (and keep them: BullMQ's child pool retains them).
    const warm = Array.from({ length: ctx.params.concurrency }, (_, i) => ({ name: 'cpu', data: makePayload(w3N + i) }));
    await queue.addBulk(warm);
    await done.waitForCount(warm.length);
    done.reset();
    const batches = chunks(w3N, bulk, (i) => ({ name: 'cpu', data: makePayload(i) }));
    await measureCpu(ctx, async () => {
      const all = done.waitForCount(w3N);
      for (const batch of batches) await queue.addBulk(batch);
      await all;
    });
    await worker.close();
    await queue.close();
  },
});
