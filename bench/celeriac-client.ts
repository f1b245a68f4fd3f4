// celeriac with two processes, as deployed: a `celeriac worker` process owns the data dir
// and this process sends through createClient() over the worker's client socket.
// w1-single (each send awaited), w1-concurrent (256 sends in flight, the worker running
// them meanwhile), w2 (send → result), and client: the ack p50 of one send at a time and
// `celeriac send` → job started.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
// The built package, as users run it (npm run bench builds first).
import { createClient, type CeleriacClient } from '../dist/index.js';
import { type ChildContext, measureLatencies, median, now, percentile, runChild, withInFlight } from './common.js';
import { makePayload, type Payload } from './params.js';

const TASKS = fileURLToPath(new URL('./tasks/bench.ts', import.meta.url));
const BIN = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));

async function withWorker(ctx: ChildContext, run: (client: CeleriacClient, dir: string) => Promise<void>): Promise<void> {
  const dir = join(ctx.params.dataDir, 'data');
  // Its stderr is a pipe of this process, not inherited: a worker outliving a killed child
  // must not hold the orchestrator's pipe open.
  const worker: ChildProcess = spawn(
    process.execPath,
    [BIN, 'worker', '--dir', dir, '--tasks', TASKS, '--concurrency', String(ctx.params.concurrency)],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  worker.stderr!.on('data', (d: Buffer) => process.stderr.write(d));
  const exited = new Promise((r) => worker.once('exit', r));
  process.once('exit', () => worker.kill('SIGKILL'));
  try {
    const client = await createClient({ dir });
    const until = Date.now() + 120_000;
    while (!(await client.connected())) {
      if (Date.now() > until) throw new Error('the worker did not listen on its client socket within 120 s');
      await new Promise((r) => setTimeout(r, 20));
    }
    await run(client, dir);
    client.close();
  } finally {
    worker.kill('SIGTERM');
    await exited;
  }
}

runChild('celeriac-client', {
  async 'w1-single'(ctx) {
    const n = ctx.params.sizes.w1SingleN;
    await withWorker(ctx, async (client) => {
      const payloads = Array.from({ length: n }, (_, i) => makePayload(i));
      const t0 = now();
      for (const p of payloads) {
        const h = await client.send('bench.noop', [p]);
        if (h.inboxFile) throw new Error('a send went through the inbox: the worker was not reachable');
      }
      ctx.emit('rate', n / ((now() - t0) / 1000));
    });
  },

  async 'w1-concurrent'(ctx) {
    const { w1ConcurrentN: n, inFlight } = ctx.params.sizes;
    await withWorker(ctx, async (client) => {
      const payloads = Array.from({ length: n }, (_, i) => makePayload(i));
      const t0 = now();
      await withInFlight(n, inFlight, (i) => client.send('bench.noop', [payloads[i]]));
      ctx.emit('rate', n / ((now() - t0) / 1000));
    });
  },

  async w2(ctx) {
    await withWorker(ctx, async (client) => {
      const one = async (p: Payload) => {
        const result = await (await client.send<number>('bench.noop', [p])).result();
        if (result !== p.id) throw new Error(`job ${p.id} returned ${result}`);
      };
      await measureLatencies(ctx, one);
    });
  },

  async client(ctx) {
    const { w2Warmup, w2N } = ctx.params.sizes;
    await withWorker(ctx, async (client, dir) => {
      const acks: number[] = [];
      for (let i = 0; i < w2Warmup + w2N; i++) {
        const t = now();
        const h = await client.send('bench.noop', [makePayload(i)]);
        if (i >= w2Warmup) acks.push(now() - t);
        if (h.inboxFile) throw new Error('a send went through the inbox: the worker was not reachable');
      }
      ctx.emit(
        'ack_p50_ms',
        percentile(
          acks.sort((a, b) => a - b),
          50,
        ),
      );
      // `celeriac send` while the worker runs: from the command's start to the job's start
      // event (the command's own process start is most of it).
      const started = new Map<string, number>();
      client.on('started', (e) => started.set(e.id, now()));
      if (!(await client.subscribed())) throw new Error("not subscribed to the worker's events");
      const cli: number[] = [];
      for (let i = 0; i < 5; i++) {
        const id = `cli-${i}`;
        const t = now();
        const r = spawn(process.execPath, [BIN, 'send', 'bench.noop', JSON.stringify([makePayload(i)]), '--id', id, '--dir', dir], {
          stdio: ['ignore', 'ignore', 'pipe'],
        });
        let err = '';
        r.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
        const code = await new Promise((res) => r.once('exit', res));
        if (code !== 0) throw new Error(`celeriac send failed (exit ${code}): ${err}`);
        const until = Date.now() + 30_000;
        while (!started.has(id)) {
          if (Date.now() > until) throw new Error(`job ${id} did not start within 30 s of \`celeriac send\` (its stderr: ${err.trim()})`);
          await new Promise((res) => setTimeout(res, 1));
        }
        cli.push(started.get(id)! - t);
      }
      ctx.emit('cli_started_ms', median(cli));
    });
  },
});
