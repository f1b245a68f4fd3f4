// Piscina's child (worker threads, in memory): start-up, W1 (no enqueue phase: a Piscina
// task runs as soon as it is submitted), W2 and W3. The worker module is plain
// JavaScript, as Piscina's users write it.
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { checkIds, chunks, emitLatencies, measureCpu, now, runChild, startupMedianMs, type ChildContext } from './common.js';
import { makePayload } from './params.js';

const WORKER = new URL('./piscina-worker.mjs', import.meta.url).href;
const STARTUP = fileURLToPath(new URL('./startup/piscina.mjs', import.meta.url));

function pool(ctx: ChildContext): Piscina {
  const n = ctx.params.concurrency;
  return new Piscina({ filename: WORKER, minThreads: n, maxThreads: n, idleTimeout: 60_000 });
}

runChild('piscina', {
  async startup(ctx) {
    const threads = String(ctx.params.concurrency);
    ctx.emit(
      'first_result_ms',
      startupMedianMs(ctx.params.sizes.startupRuns, STARTUP, () => [threads]),
    );
    ctx.na("n/a (Piscina loads no TypeScript: compare celeriac's .ts figure with this .mjs one)", 'first_result_ts_ms');
  },

  async w1(ctx) {
    const { w1N } = ctx.params.sizes;
    const payloads = Array.from({ length: w1N }, (_, i) => makePayload(i));
    const na = 'n/a (a Piscina task runs as soon as it is submitted: no queue without running workers)';
    ctx.na(na, 'enqueue');
    ctx.na(na, 'drain');
    const p = pool(ctx);
    // Warm-up, untimed: as many jobs as the queues' drain phase runs before the timed phase.
    checkIds(await Promise.all(payloads.map((payload) => p.run(payload) as Promise<number>)));
    const t0 = now();
    const results = await Promise.all(payloads.map((payload) => p.run(payload) as Promise<number>));
    const t1 = now();
    checkIds(results);
    ctx.emit('process', w1N / ((t1 - t0) / 1000));
    await p.destroy();
  },

  async w2(ctx) {
    const { w2Warmup, w2N } = ctx.params.sizes;
    const p = pool(ctx);
    for (let i = 0; i < w2Warmup; i++) await p.run(makePayload(i));
    const latencies: number[] = [];
    for (let i = 0; i < w2N; i++) {
      const payload = makePayload(w2Warmup + i);
      const t = now();
      const result = await p.run(payload);
      latencies.push(now() - t);
      if (result !== payload.id) throw new Error(`job ${payload.id} returned ${result}`);
    }
    emitLatencies(ctx, latencies);
    await p.destroy();
  },

  async w3(ctx) {
    const { w3N } = ctx.params.sizes;
    const p = pool(ctx);
    await Promise.all(Array.from({ length: ctx.params.concurrency }, (_, i) => p.run(makePayload(i)))); // threads up
    const payloads = Array.from({ length: w3N }, (_, i) => makePayload(i));
    await measureCpu(ctx, async () => {
      checkIds(await Promise.all(payloads.map((payload) => p.run(payload, { name: 'cpu' }) as Promise<number>)));
    });
    await p.destroy();
  },
});
