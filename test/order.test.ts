// The order jobs run in, with one worker: higher priority first; equal priorities in the
// order they were accepted, whether due at once or at one shared instant, across a restart too.
import { strict as assert } from 'node:assert';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import type { Celeriac } from '../src/index.js';
import { fixture, openApp, tempDir } from './helpers.js';

/** One worker thread, one job at a time: jobs run exactly in dispatch order. */
const serialApp = (t: TestContext, extra = {}) => openApp(t, { tasks: [fixture('timing')], concurrency: 1, ...extra });

/** Ids in the order their jobs ran (timing.stamp appends one line per run). */
const ranOrder = async (log: string) =>
  (await readFile(log, 'utf8'))
    .trim()
    .split('\n')
    .map((l) => (JSON.parse(l) as { id: string }).id);

async function runAll(app: Celeriac, ids: string[]): Promise<void> {
  await Promise.all(ids.map((id) => app.result(id, { timeout: 20 })));
}

const six = ['j1', 'j2', 'j3', 'j4', 'j5', 'j6'];

test('six jobs sent one by one with one shared eta run in the order they were sent', async (t) => {
  const log = join(await tempDir(t), 'runs.log');
  const app = await serialApp(t);
  await app.start();
  const eta = new Date(Date.now() + 300);
  for (const id of six) await app.send('timing.stamp', [log], { id, eta });
  await runAll(app, six);
  assert.deepEqual(await ranOrder(log), six);
});

test('one sendMany with a countdown runs its jobs in the order of its list', async (t) => {
  const log = join(await tempDir(t), 'runs.log');
  const app = await serialApp(t);
  await app.start();
  const handles = await app.sendMany(
    'timing.stamp',
    six.map(() => [log]),
    { countdown: 0.3 },
  );
  const ids = handles.map((h) => h.id);
  await runAll(app, ids);
  assert.deepEqual(await ranOrder(log), ids);
});

for (const via of ['journal', 'snapshot'] as const) {
  test(`jobs due at one shared instant keep their order across a restart (read from the ${via})`, async (t) => {
    const dir = join(await tempDir(t), 'data');
    const log = join(dir, '..', 'runs.log');
    // compactAfterBytes: 1 folds every flush into a snapshot, so the reopen reads the jobs from it.
    const extra = via === 'snapshot' ? { dir, compactAfterBytes: 1 } : { dir };
    const first = await serialApp(t, extra);
    // Far enough ahead that the reopened app still holds them in its delayed heap.
    const eta = new Date(Date.now() + 3000);
    for (const id of six) await first.send('timing.stamp', [log], { id, eta });
    await first.close();
    const again = await serialApp(t, extra);
    if (via === 'snapshot') assert.ok(again.recovery.snapshotJobs > 0, 'the reopen read jobs from the snapshot');
    await again.start();
    // Had the reopen taken longer than the eta, the jobs would skip the delayed heap (still in order).
    if (Date.now() >= eta.getTime()) t.diagnostic('the jobs were already due when the app started: the delayed heap was not exercised');
    await runAll(again, six);
    assert.deepEqual(await ranOrder(log), six);
  });
}

test('jobs of mixed priorities sent before start() run highest first, equal priorities in the order sent', async (t) => {
  const log = join(await tempDir(t), 'runs.log');
  const app = await serialApp(t);
  const sent: [string, number][] = [
    ['a0', 0],
    ['b5', 5],
    ['c1', 1],
    ['d5', 5],
    ['e0', 0],
    ['f9', 9],
    ['g1', 1],
    ['h5', 5],
    ['i-2', -2],
    ['j0', 0],
  ];
  for (const [id, priority] of sent) await app.send('timing.stamp', [log], { id, priority });
  await app.start();
  await runAll(
    app,
    sent.map(([id]) => id),
  );
  assert.deepEqual(await ranOrder(log), ['f9', 'b5', 'd5', 'h5', 'c1', 'g1', 'a0', 'e0', 'j0', 'i-2']);
});

test('priorities due at one shared instant: highest first, equal priorities in the order sent', async (t) => {
  const log = join(await tempDir(t), 'runs.log');
  const app = await serialApp(t);
  await app.start();
  const eta = new Date(Date.now() + 300);
  const sent: [string, number][] = [
    ['a0', 0],
    ['b3', 3],
    ['c0', 0],
    ['d3', 3],
    ['e7', 7],
    ['f0', 0],
  ];
  for (const [id, priority] of sent) await app.send('timing.stamp', [log], { id, priority, eta });
  await runAll(
    app,
    sent.map(([id]) => id),
  );
  assert.deepEqual(await ranOrder(log), ['e7', 'b3', 'd3', 'a0', 'c0', 'f0']);
});
