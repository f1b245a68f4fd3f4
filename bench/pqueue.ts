// p-queue's child (in memory, on the event loop): W1 and W2. w1-single and W3 do not
// apply (see SYSTEMS in params.ts), so the orchestrator never starts them.
import PQueue from 'p-queue';
import { checkIds, chunks, emitLatencies, now, runChild } from './common.js';
import { makePayload, noopJob, type Payload } from './params.js';

const noop = async (p: Payload) => noopJob(p);

runChild('pqueue', {
  async w1(ctx) {
    const { w1N, bulk } = ctx.params.sizes;
    const queue = new PQueue({ concurrency: ctx.params.concurrency, autoStart: false });
    const batches = chunks(w1N, bulk, (i) => makePayload(i));
    const t0 = now();
    const pending = batches.map((batch) => queue.addAll(batch.map((p) => () => noop(p))));
    const t1 = now();
    queue.start();
    const results = (await Promise.all(pending)).flat();
    const t2 = now();
    checkIds(results);
    ctx.emit('enqueue', w1N / ((t1 - t0) / 1000));
    ctx.emit('drain', w1N / ((t2 - t1) / 1000));
    // The queue is running and has run w1N jobs: submit → all complete, as every system.
    const more = chunks(w1N, bulk, (i) => makePayload(w1N + i));
    const t3 = now();
    const again = (await Promise.all(more.map((batch) => queue.addAll(batch.map((p) => () => noop(p)))))).flat();
    const t4 = now();
    checkIds(again, w1N);
    ctx.emit('process', w1N / ((t4 - t3) / 1000));
  },

  async w2(ctx) {
    const { w2Warmup, w2N } = ctx.params.sizes;
    const queue = new PQueue({ concurrency: ctx.params.concurrency });
    for (let i = 0; i < w2Warmup; i++) await queue.add(() => noop(makePayload(i)));
    const latencies: number[] = [];
    for (let i = 0; i < w2N; i++) {
      const p = makePayload(w2Warmup + i);
      const t = now();
      const result = await queue.add(() => noop(p));
      latencies.push(now() - t);
      if (result !== p.id) throw new Error(`job ${p.id} returned ${result}`);
    }
    emitLatencies(ctx, latencies);
  },
});
