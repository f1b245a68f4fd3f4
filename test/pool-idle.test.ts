// WorkerPool.idle(): the wait of close() for running jobs is woken by their outcomes, not
// by a polling timer, and gives up at its deadline.
import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { test } from 'node:test';
import type { WireJob } from '../src/pool/protocol.js';
import { fixture, testPool } from './helpers.js';

const pool = () => testPool([join(fixture('pool'), 'js-tasks.js'), join(fixture('pool'), 'ts-tasks.ts')]);

const job = (seq: number, task: string, args: unknown[]): WireJob => ({
  seq,
  id: `idle-${seq}`,
  task,
  args: JSON.stringify(args),
  attempt: 1,
  retries: 0,
  recovered: false,
});

test('idle() resolves in the turn the last outcome arrives, before anything that turn queued', async (t) => {
  const p = pool();
  t.after(() => p.close());
  await p.start();
  const order: string[] = [];
  const ran = p.run([job(1, 'pool.js.hello', ['x'])], (_job, outcome) => {
    order.push(`outcome ${outcome.kind}`);
    // A polling idle() (a timer) would let this run first.
    setImmediate(() => order.push('next turn'));
  });
  const idle = p.idle(() => Date.now() + 60_000).then((done) => order.push(`idle ${done}`));
  await Promise.all([ran, idle]);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(order, ['outcome succeeded', 'idle true', 'next turn']);
});

test('idle() gives up at its deadline while a job still runs, and says so', async (t) => {
  const p = pool();
  t.after(() => p.close());
  await p.start();
  void p.run([job(1, 'pool.where', [5_000])], () => undefined);
  const deadline = Date.now() + 200;
  assert.equal(await p.idle(() => deadline), false);
  assert.ok(Date.now() >= deadline, 'not before the deadline');
});
