// What the dispatcher writes `started` is what a worker may really hold: concurrent sends
// do not mark a queue's worth of jobs started through the send fast path, and a job
// reserved while its worker was busy is not started (and never runs) after its expiry.
import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { test } from 'node:test';
import { readJobs } from '../src/index.js';
import { fixture, openApp, tempDir, waitFor } from './helpers.js';

const LIMIT_MS = 120_000;
/** Jobs one slot's worker can hold at once: 2 dispatch units of at most 4 jobs of a task not yet measured (dispatcher.ts). */
const HELD_PER_SLOT = 2 * 4;

test('concurrent sends while the only slot is busy mark started only what the pool can hold', { timeout: LIMIT_MS }, async (t) => {
  const tmp = await tempDir(t);
  const dir = join(tmp, 'data');
  const log = join(tmp, 'runs.log');
  const app = await openApp(t, { dir, tasks: [fixture('timing')], concurrency: 1 });
  await app.start();
  const busy = await app.send('timing.wait', [60_000, log]);
  await waitFor(() => busy.info()?.state === 'started', 20_000, 'the busy job to start');

  const hs = await Promise.all(Array.from({ length: 40 }, () => app.send('timing.stamp', [log])));
  const onDisk = [...(await readJobs(dir)).values()];
  const started = onDisk.filter((j) => j.state === 'started').length;
  assert.ok(started >= 1 && started <= HELD_PER_SLOT, `started on disk: at most what one slot's worker holds (${started} of 41)`);
  assert.equal(onDisk.filter((j) => j.state === 'pending').length, 41 - started, 'the rest wait, pending on disk');
  const counts = app.counts();
  assert.ok(counts.started <= HELD_PER_SLOT, `started in memory too (${JSON.stringify(counts)})`);

  await app.cancel(busy.id);
  await waitFor(() => hs.every((h) => h.info()?.state === 'succeeded'), 60_000, 'the sent jobs to run once the slot is free');
});
