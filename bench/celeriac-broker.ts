// celeriac on a shared broker (the BullMQ backend), W1 and W2 as bench/celeriac.ts runs
// them on the data dir, through the public API only: the rows beside raw BullMQ on the
// same server. Each child takes a queue of its own, so no server data is wiped.
import { fileURLToPath } from 'node:url';
import { createCeleriac, type Celeriac, type JobHandle } from '../dist/index.js';
import { checkIds, type ChildContext, chunks, measureLatencies, now, runChild } from './common.js';
import { makePayload, type Payload, type SystemName } from './params.js';

const TASKS = fileURLToPath(new URL('./tasks/bench.mjs', import.meta.url));

export function runCeleriacOnBroker(system: SystemName, brokerUrl: (ctx: ChildContext) => string): void {
  const open = (ctx: ChildContext): Promise<Celeriac> =>
    createCeleriac({
      broker: brokerUrl(ctx),
      queue: `bench-${ctx.workload}-${ctx.params.rep}-${process.pid}`,
      tasks: [TASKS],
      concurrency: ctx.params.concurrency,
      logger: false,
      start: false,
    });

  runChild(system, {
    async w1(ctx) {
      const { w1N, bulk } = ctx.params.sizes;
      const app = await open(ctx);
      const t0 = now();
      const handles: JobHandle<number>[] = [];
      for (const batch of chunks(w1N, bulk, (i) => [makePayload(i)])) handles.push(...(await app.sendMany<number>('bench.noop', batch)));
      const t1 = now();
      await app.start();
      checkIds(await Promise.all(handles.map((h) => h.result())));
      const t2 = now();
      handles.length = 0;
      ctx.emit('enqueue', w1N / ((t1 - t0) / 1000));
      ctx.emit('drain', w1N / ((t2 - t1) / 1000));
      // Started and warm: submit → all complete, as every system.
      const t3 = now();
      const pending: Promise<number[]>[] = [];
      for (const batch of chunks(w1N, bulk, (i) => [makePayload(w1N + i)])) {
        const sent = await app.sendMany<number>('bench.noop', batch);
        pending.push(Promise.all(sent.map((h) => h.result())));
      }
      checkIds((await Promise.all(pending)).flat(), w1N);
      ctx.emit('process', w1N / ((now() - t3) / 1000));
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
  });
}
