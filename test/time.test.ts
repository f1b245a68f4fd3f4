import { strict as assert } from 'node:assert';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import type { CeleriacError } from '../src/index.js';
import { fixture, openApp, sleep, tempDir, waitFor } from './helpers.js';

const timingApp = (t: Parameters<typeof openApp>[0], extra = {}) => openApp(t, { tasks: [fixture('timing')], ...extra });
const runs = async (log: string) =>
  (await readFile(log, 'utf8').catch(() => ''))
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { id: string; at?: number });

test('countdown and eta delay a job; it runs after its time, not before', async (t) => {
  const log = join(await tempDir(t), 'runs.log');
  const app = await timingApp(t);
  await app.start();
  const sentAt = Date.now();
  const byCountdown = await app.send('timing.stamp', [log], { countdown: 0.4 });
  const byEta = await app.send('timing.stamp', [log], { eta: new Date(sentAt + 600) });
  // A minute away: still waiting when the undelayed job is done, however slow the machine.
  const far = await app.send('timing.stamp', [log], { countdown: 60 });
  const now = await app.send('timing.stamp', [log]);
  await now.result({ timeout: 10 });
  assert.equal((await far.info())?.state, 'pending', 'an undelayed job does not wait for the delayed ones');
  const a = (await byCountdown.result({ timeout: 10 })) as number;
  const b = (await byEta.result({ timeout: 10 })) as number;
  assert.ok(a >= (await byCountdown.info())!.runAt!.getTime(), 'countdown job ran at or after its time');
  assert.ok(a >= sentAt + 400);
  assert.ok(b >= sentAt + 600);
  assert.equal((await byEta.info())?.runAt?.getTime(), sentAt + 600);
});

test('overdue jobs run right after start, ahead of jobs sent after it', async (t) => {
  const log = join(await tempDir(t), 'runs.log');
  const app = await timingApp(t, { concurrency: 1 });
  const overdue = await app.send('timing.stamp', [log], { countdown: 0.1 });
  const dueAt = (await overdue.info())!.runAt!.getTime();
  await waitFor(() => Date.now() > dueAt, 10_000, 'the job to be overdue');
  assert.equal((await overdue.info())?.state, 'pending', 'nothing runs before start()');
  const startedAt = Date.now();
  await app.start();
  const later = await app.send('timing.stamp', [log]);
  await later.result({ timeout: 10 });
  const ranAt = (await overdue.result({ timeout: 10 })) as number;
  assert.ok(ranAt >= startedAt, 'it ran once the app started');
  assert.deepEqual(
    (await runs(log)).map((r) => r.id),
    [overdue.id, later.id],
    'the overdue job ran first: start() dispatched it at once',
  );
});

test('an expired job is marked expired, not run', async (t) => {
  const log = join(await tempDir(t), 'runs.log');
  const app = await timingApp(t);
  const h = await app.send('timing.stamp', [log], { expires: 0.2 });
  const keep = await app.send('timing.stamp', [log], { expires: 60 });
  await sleep(300);
  await app.start();
  await assert.rejects(h.result({ timeout: 10 }), (err: CeleriacError) => err.code === 'JOB_EXPIRED');
  await keep.result({ timeout: 10 });
  assert.equal((await h.info())?.state, 'expired');
  assert.equal((await h.info())?.attempts, 0);
  assert.deepEqual(
    (await runs(log)).map((r) => r.id),
    [keep.id],
    'only the unexpired job ran',
  );
});

test('expires accepts a Date and rejects one that makes the job impossible', async (t) => {
  const app = await timingApp(t);
  const h = await app.send('timing.stamp', ['/dev/null'], { expires: new Date(Date.now() + 60_000) });
  assert.ok((await h.info())?.expiresAt instanceof Date);
  await assert.rejects(
    app.send('timing.stamp', ['/dev/null'], { eta: new Date(Date.now() + 5000), expires: new Date(Date.now() + 1000) }),
    /could never run/,
  );
  await assert.rejects(app.send('timing.stamp', ['/dev/null'], { countdown: 1, eta: new Date() }), /either countdown or eta/);
});

test('cancel: a waiting job never runs; a running job sees its AbortSignal', async (t) => {
  const log = join(await tempDir(t), 'runs.log');
  const app = await timingApp(t, { concurrency: 1, prefetch: 1 });
  await app.start();
  const running = await app.send('timing.wait', [30_000, log]);
  const waiting = await app.send('timing.stamp', [log], { countdown: 60 });
  await waitFor(async () => (await running.info())?.state === 'started', 10_000, 'the job to start');
  assert.equal(await app.cancel(waiting.id), true);
  assert.equal(await app.cancel(running.id), true);
  await assert.rejects(waiting.result(), (err: CeleriacError) => err.code === 'JOB_CANCELLED');
  await assert.rejects(running.result(), (err: CeleriacError) => err.code === 'JOB_CANCELLED');
  const entries = (await waitFor(
    async () => ((await runs(log)).length > 0 ? runs(log) : undefined),
    10_000,
    'the abort to be logged',
  )) as unknown as { id: string; aborted?: boolean; reason: string }[];
  assert.equal(entries.length, 1, 'only the running job ran');
  assert.equal(entries[0]!.id, running.id);
  assert.equal(entries[0]!.aborted, true);
  assert.match(entries[0]!.reason, /cancelled/);
  assert.equal((await waiting.info())?.state, 'cancelled');
  assert.equal(await app.cancel(waiting.id), false, 'a finished job cannot be cancelled again');
});

test('close() lets running jobs finish within the grace period and leaves the rest pending', async (t) => {
  const dir = join(await tempDir(t), 'data');
  const log = join(dir, '..', 'runs.log');
  const app = await timingApp(t, { dir, concurrency: 1, prefetch: 4 });
  await app.start();
  const running = await app.send('timing.wait', [300, log]);
  await waitFor(async () => (await running.info())?.state === 'started', 10_000, 'the job to start');
  const queued = await Promise.all([1, 2, 3].map(() => app.send('timing.stamp', [log])));
  await app.close({ timeout: 10 });
  await assert.rejects(app.send('timing.stamp', [log]), (err: CeleriacError) => err.code === 'APP_CLOSED');
  const reopened = await timingApp(t, { dir, concurrency: 1 });
  assert.equal((await reopened.get(running.id))?.state, 'succeeded', 'the running job finished during close');
  for (const q of queued) {
    const info = await reopened.get(q.id);
    assert.equal(info?.state, 'pending', 'jobs not begun are left pending');
    assert.equal(info?.attempts, 0);
    assert.equal(info?.recovered, false);
  }
});

test('close() with a short grace stops a long job; it runs again after restart, flagged recovered', async (t) => {
  const dir = join(await tempDir(t), 'data');
  const log = join(dir, '..', 'runs.log');
  const app = await timingApp(t, { dir, concurrency: 1 });
  await app.start();
  const long = await app.send('timing.wait', [60_000, log]);
  await waitFor(async () => (await long.info())?.state === 'started', 10_000, 'the job to start');
  await app.close({ timeout: 0.2 });
  const reopened = await timingApp(t, { dir, concurrency: 1 });
  const info = (await reopened.get(long.id))!;
  assert.equal(info.state, 'pending');
  assert.equal(info.recovered, true);
  assert.equal(info.attempts, 1);
});

test('a burst of concurrent sends never marks more jobs started than prefetch allows', async (t) => {
  const log = join(await tempDir(t), 'runs.log');
  const app = await timingApp(t, { concurrency: 1, prefetch: 1 });
  await app.start();
  const handles = await Promise.all(Array.from({ length: 20 }, () => app.send('timing.wait', [300, log])));
  assert.equal((await app.counts()).started, 1, 'one slot, prefetch 1: only the running job is marked started');
  assert.equal((await app.counts()).pending, 19);
  await app.cancel(handles[0]!.id);
  for (const h of handles.slice(1)) await app.cancel(h.id);
});
