// Hostile tasks beyond the limits suite: unhandled rejections, huge results, promises that
// never settle, infinite loops. Each fails only its own job with an error that says what
// happened; the pool returns to full size; other jobs' results are untouched.
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { TaskFailedError, type Celeriac } from '../src/index.js';
import { fixture, openApp } from './helpers.js';

async function failure(app: Celeriac, task: string): Promise<TaskFailedError> {
  const h = await app.send(task, []);
  try {
    await h.result({ timeout: 20 });
  } catch (err) {
    assert.ok(err instanceof TaskFailedError, `${task}: ${(err as Error).message}`);
    assert.equal((await app.get(h.id))?.state, 'failed');
    return err;
  }
  throw new Error(`${task} was expected to fail`);
}

async function stillWhole(app: Celeriac, before: number[]): Promise<void> {
  const results = await Promise.all(before.map(async (n) => (await app.send('hostile.ok', [n])).result({ timeout: 20 })));
  assert.deepEqual(
    results,
    before.map((n) => n * 2),
  );
}

test('hostile tasks fail only their own job, with an error that says what happened', async (t) => {
  const app = await openApp(t, { tasks: [fixture('hostile')], concurrency: 2, maxResultBytes: 1024 * 1024, timeoutGrace: 0.3 });
  await app.start();
  const first = await app.send('hostile.ok', [21]);
  assert.equal(await first.result({ timeout: 20 }), 42);

  const unhandled = await failure(app, 'hostile.unhandled');
  assert.equal(unhandled.remote.name, 'WorkerCrashed');
  assert.match(unhandled.remote.message, /nobody catches me/);
  await stillWhole(app, [1, 2, 3, 4]);

  const huge = await failure(app, 'hostile.huge');
  assert.equal(huge.remote.name, 'ResultTooLarge');
  assert.match(huge.remote.message, /over the limit of 1048576 \(maxResultBytes\)/);

  const forever = await failure(app, 'hostile.forever');
  assert.equal(forever.remote.name, 'TimeoutError');
  assert.match(forever.remote.message, /did not stop within 0.3 s/);

  const spin = await failure(app, 'hostile.spin');
  assert.equal(spin.remote.name, 'TimeoutError');
  assert.match(spin.remote.message, /worker thread was terminated/);

  await stillWhole(app, [5, 6, 7, 8, 9, 10]);
  assert.equal((await app.get(first.id))?.result, 42, 'an earlier result is untouched');
  const threads = (app as unknown as { pool: { workers: unknown[] } }).pool.workers.length;
  assert.equal(threads, 2, 'the pool is back to full size');
});
