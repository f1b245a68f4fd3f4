// What the dispatcher writes `started` is what a worker may really hold: concurrent sends
// do not mark a queue's worth of jobs started through the send fast path, and a job
// reserved while its worker was busy is not started (and never runs) after its expiry.
import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { test } from 'node:test';
import { readJobs } from '../src/admin.js';
import { fixture, openApp, tempDir, waitFor } from './helpers.js';

const LIMIT_MS = 120_000;
/** Units p-queue runs per slot at once (UNITS_PER_SLOT in dispatcher.ts). */
const UNITS_PER_SLOT = 4;
/** Jobs one slot's worker can hold at once: its dispatch units of at most 4 jobs of a task not yet measured (dispatcher.ts). */
const HELD_PER_SLOT = UNITS_PER_SLOT * 4;

test('concurrent sends while the only slot is busy mark started only what the pool can hold', { timeout: LIMIT_MS }, async (t) => {
  const tmp = await tempDir(t);
  const dir = join(tmp, 'data');
  const log = join(tmp, 'runs.log');
  const app = await openApp(t, { dir, tasks: [fixture('timing')], concurrency: 1 });
  await app.start();
  const busy = await app.send('timing.wait', [60_000, log]);
  await waitFor(async () => (await busy.info())?.state === 'started', 20_000, 'the busy job to start');

  const hs = await Promise.all(Array.from({ length: 40 }, () => app.send('timing.stamp', [log])));
  const onDisk = [...(await readJobs(dir)).values()];
  const started = onDisk.filter((j) => j.state === 'started').length;
  assert.ok(started >= 1 && started <= HELD_PER_SLOT, `started on disk: at most what one slot's worker holds (${started} of 41)`);
  assert.equal(onDisk.filter((j) => j.state === 'pending').length, 41 - started, 'the rest wait, pending on disk');
  const counts = await app.counts();
  assert.ok(counts.started <= HELD_PER_SLOT, `started in memory too (${JSON.stringify(counts)})`);

  await app.cancel(busy.id);
  await waitFor(
    async () => (await Promise.all(hs.map((h) => h.info()))).every((info) => info?.state === 'succeeded'),
    60_000,
    'the sent jobs to run once the slot is free',
  );
});

test('a worker holds three dispatch units queued behind the one it runs, so it has work while the host is slow to send more', {
  timeout: LIMIT_MS,
}, async (t) => {
  const tmp = await tempDir(t);
  const log = join(tmp, 'runs.log');
  const app = await openApp(t, { dir: join(tmp, 'data'), tasks: [fixture('timing')], concurrency: 1 });
  await app.start();
  const held: Awaited<ReturnType<typeof app.send>>[] = [];
  for (let i = 0; i < UNITS_PER_SLOT; i++) held.push(await app.send('timing.wait', [60_000, log]));
  await waitFor(
    async () => (await Promise.all(held.map((h) => h.info()))).every((info) => info?.state === 'started'),
    20_000,
    `all ${UNITS_PER_SLOT} jobs (one unit each) to be handed to the only worker`,
  );
  const next = await app.send('timing.wait', [60_000, log]);
  await waitFor(async () => (await next.info())?.state === 'reserved', 20_000, 'a fifth unit to wait in the host, reserved');
  for (const h of [...held, next]) await app.cancel(h.id);
});

test('a job reserved while its slot is busy is expired, not started, once its expiry has passed', { timeout: LIMIT_MS }, async (t) => {
  const tmp = await tempDir(t);
  const dir = join(tmp, 'data');
  const log = join(tmp, 'runs.log');
  const app = await openApp(t, { dir, tasks: [fixture('timing')], concurrency: 1 });
  await app.start();
  const busy = await app.send('timing.wait', [1500, log]);
  await waitFor(async () => (await busy.info())?.state === 'started', 20_000, 'the busy job to start');

  const hs = await app.sendMany(
    'timing.stamp',
    Array.from({ length: 20 }, () => [log]),
    { expires: 0.5 },
  );
  await waitFor(
    async () => (await Promise.all(hs.map((h) => h.info()))).every((info) => ['succeeded', 'expired'].includes(info?.state ?? '')),
    60_000,
    'every job to run or expire',
  );

  const jobs = await readJobs(dir);
  const ran = hs.map((h) => jobs.get(h.id)!).filter((j) => j.state === 'succeeded');
  for (const j of ran) assert.ok(j.startedAt! < j.expiresAt, `${j.id} started ${j.startedAt! - j.expiresAt} ms after its expiry`);
  const expired = hs.map((h) => jobs.get(h.id)!).filter((j) => j.state === 'expired');
  assert.ok(expired.length >= 20 - HELD_PER_SLOT, `the jobs the busy worker could not hold expire (${expired.length} of 20)`);
  for (const j of expired) assert.equal(j.startedAt, undefined, `${j.id} expired without a start`);
  for (const h of hs) if ((await h.info())?.state === 'expired') await assert.rejects(h.result(), `${h.id}: its waiter settles as expired`);
});

test('a reserved job that was retrying and is given back at close reads as retrying, as on disk', { timeout: LIMIT_MS }, async (t) => {
  const tmp = await tempDir(t);
  const dir = join(tmp, 'data');
  const log = join(tmp, 'runs.log');
  const app = await openApp(t, { dir, tasks: [fixture('timing'), fixture('retry')], concurrency: 1 });
  await app.start();
  const retried = await app.send('retry.slow', [log]);
  await waitFor(async () => (await retried.info())?.state === 'retrying', 20_000, 'the first run to ask for a retry');
  // Long jobs, one per unit, fill the pool's places for the one slot: the retry, once due, is reserved and waits.
  for (let i = 0; i < UNITS_PER_SLOT; i++) await app.send('timing.wait', [60_000, log]);
  await waitFor(async () => (await retried.info())?.state === 'reserved', 20_000, 'the retry to be reserved behind the busy worker');

  await app.close({ timeout: 1 });
  assert.equal((await readJobs(dir)).get(retried.id)?.state, 'retrying', 'on disk');
  assert.equal((await retried.info())?.state, 'retrying', 'in memory, after the reservation was given back');
});
