// The machine's limits (workloads.md, "Limits"): fsync'd 200-byte appends (one per
// fsync, and group commit of 10/100/1000 per write + fdatasync), worker_threads
// postMessage round trips with 2 workers at 1/16/256 in flight, and p-queue
// (concurrency = cores) add()+run of no-op async functions. Beside them, what celeriac's
// journal does: one 200-byte O_DSYNC write at a time, appending (the file grows), and
// into space zeroed beforehand (store/segment-space.ts); and the latency of one such write,
// made synchronously, through fs/promises (the libuv pool, as celeriac writes), and two
// through fs/promises in sequence (W2's floor: a job's add+start, then its outcome). And W3's ceiling: its CPU jobs
// run back to back on `concurrency` bare threads, as W3 computes efficiency.
import { closeSync, constants, fdatasyncSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import PQueue from 'p-queue';
import { now, percentile, runChild, singleJobMs, type ChildContext } from './common.js';

const RECORD = Buffer.from(`${'r'.repeat(199)}\n`); // a 200-byte line

function fsyncOne(ctx: ChildContext): void {
  const n = ctx.params.sizes.limits.fsyncOneRecords;
  const fd = openSync(join(ctx.params.dataDir, 'fsync-1.log'), 'a');
  const t = now();
  for (let i = 0; i < n; i++) {
    writeSync(fd, RECORD);
    fsyncSync(fd);
  }
  ctx.emit('fsync_1', n / ((now() - t) / 1000));
  closeSync(fd);
}

function groupCommit(ctx: ChildContext, perSync: number, syncs: number): void {
  const block = Buffer.concat(Array.from({ length: perSync }, () => RECORD));
  const fd = openSync(join(ctx.params.dataDir, `group-${perSync}.log`), 'a');
  const t = now();
  for (let i = 0; i < syncs; i++) {
    writeSync(fd, block);
    fdatasyncSync(fd);
  }
  ctx.emit(`group_${perSync}`, (perSync * syncs) / ((now() - t) / 1000));
  closeSync(fd);
}

/** O_DSYNC writes of one record each: appending, or over zeros already in the file. */
function dsyncWrites(ctx: ChildContext, zeroed: boolean): void {
  const n = ctx.params.sizes.limits.fsyncOneRecords;
  const fd = openSync(
    join(ctx.params.dataDir, `dsync-${zeroed ? 'zeroed' : 'append'}.log`),
    constants.O_RDWR | constants.O_CREAT | constants.O_TRUNC | constants.O_DSYNC,
    0o600,
  );
  if (zeroed) {
    const zeros = Buffer.alloc(1024 * 1024);
    for (let at = 0; at < n * RECORD.length; at += zeros.length) writeSync(fd, zeros, 0, zeros.length, at);
    fdatasyncSync(fd);
  }
  const t = now();
  for (let i = 0; i < n; i++) writeSync(fd, RECORD, 0, RECORD.length, i * RECORD.length);
  ctx.emit(zeroed ? 'dsync_zeroed' : 'dsync_append', n / ((now() - t) / 1000));
  closeSync(fd);
}

/**
 * W2's floor, in the same run as W2: p50/p99 of one 200-byte O_DSYNC write into zeroed
 * space made synchronously (`sync`), through fs/promises (`pool`), and of two such writes
 * one after the other through fs/promises (`pair`: a job's add+start, then its outcome).
 * The kinds alternate write by write so that each sees the same disk.
 */
async function dsyncLatency(ctx: ChildContext): Promise<void> {
  const n = ctx.params.sizes.limits.fsyncOneRecords;
  const path = join(ctx.params.dataDir, 'dsync-latency.log');
  const flags = constants.O_RDWR | constants.O_CREAT | constants.O_TRUNC | constants.O_DSYNC;
  const fh = await open(path, flags, 0o600);
  const bytes = 4 * n * RECORD.length;
  const zeros = Buffer.alloc(1024 * 1024);
  for (let at = 0; at < bytes; at += zeros.length) await fh.write(zeros, 0, zeros.length, at);
  await fh.datasync();
  const sync: number[] = [];
  const pool: number[] = [];
  const pair: number[] = [];
  let at = 0;
  const next = () => (at += RECORD.length) - RECORD.length;
  for (let i = 0; i < n; i++) {
    let t = now();
    writeSync(fh.fd, RECORD, 0, RECORD.length, next());
    sync.push(now() - t);
    t = now();
    await fh.write(RECORD, 0, RECORD.length, next());
    pool.push(now() - t);
    t = now();
    await fh.write(RECORD, 0, RECORD.length, next());
    await fh.write(RECORD, 0, RECORD.length, next());
    pair.push(now() - t);
  }
  await fh.close();
  for (const [name, samples] of [
    ['sync', sync],
    ['pool', pool],
    ['pair', pair],
  ] as const) {
    samples.sort((a, b) => a - b);
    ctx.emit(`dsync_${name}_p50_ms`, percentile(samples, 50));
    ctx.emit(`dsync_${name}_p99_ms`, percentile(samples, 99));
  }
}

const ECHO = `const { parentPort } = require('node:worker_threads'); parentPort.on('message', (m) => parentPort.postMessage(m));`;

/** Round trips/s with `workers` echo workers, each kept at `inFlight` messages outstanding. */
async function roundTrips(ctx: ChildContext, inFlight: number, perWorker: number): Promise<void> {
  const workers = Array.from({ length: 2 }, () => new Worker(ECHO, { eval: true }));
  await Promise.all(workers.map((w) => new Promise((r) => w.once('online', r))));
  const payload = { id: 1, kind: 'noop' };
  const t = now();
  await Promise.all(
    workers.map(
      (w) =>
        new Promise<void>((resolve) => {
          let sent = 0;
          let received = 0;
          w.on('message', () => {
            received++;
            if (sent < perWorker) {
              sent++;
              w.postMessage(payload);
            }
            if (received === perWorker) resolve();
          });
          while (sent < Math.min(inFlight, perWorker)) {
            sent++;
            w.postMessage(payload);
          }
        }),
    ),
  );
  ctx.emit(`rt_${inFlight}`, (2 * perWorker) / ((now() - t) / 1000));
  await Promise.all(workers.map((w) => w.terminate()));
}

/** W3's efficiency with nothing but the jobs: w3N CPU jobs split over `concurrency` threads that run them in a loop. */
async function bareThreads(ctx: ChildContext): Promise<void> {
  const { w3N, singleJobSamples } = ctx.params.sizes;
  const cores = ctx.params.concurrency;
  const single = singleJobMs(singleJobSamples);
  // A worker does not get tsx's hooks from --import: register them, then import the .ts module.
  const tsx = JSON.stringify(import.meta.resolve('tsx/esm/api'));
  const entry = `import(${tsx}).then(({ register }) => { register(); return import(${JSON.stringify(new URL('./cpu-thread.ts', import.meta.url).href)}); })`;
  const workers = Array.from({ length: cores }, () => new Worker(entry, { eval: true }));
  const next = (w: Worker) => new Promise((resolve) => w.once('message', resolve));
  await Promise.all(workers.map(next)); // loaded
  const t = now();
  const done = Promise.all(workers.map(next));
  for (const w of workers) w.postMessage(Math.round(w3N / cores));
  await done;
  ctx.emit('w3_ceiling', (w3N * single) / ((now() - t) * cores));
  await Promise.all(workers.map((w) => w.terminate()));
}

async function pqueueNoop(ctx: ChildContext): Promise<void> {
  const n = ctx.params.sizes.limits.pqueueN;
  const queue = new PQueue({ concurrency: ctx.params.concurrency });
  const noop = async () => undefined;
  const t = now();
  for (let i = 0; i < n; i++) void queue.add(noop);
  await queue.onIdle();
  ctx.emit('pqueue_noop', n / ((now() - t) / 1000));
}

runChild('limits', {
  async limits(ctx) {
    const { groups, roundTrips: trips } = ctx.params.sizes.limits;
    fsyncOne(ctx);
    dsyncWrites(ctx, false);
    dsyncWrites(ctx, true);
    await dsyncLatency(ctx);
    for (const g of groups) groupCommit(ctx, g.perSync, g.syncs);
    for (const r of trips) await roundTrips(ctx, r.inFlight, r.perWorker);
    await pqueueNoop(ctx);
    await bareThreads(ctx);
  },
});
