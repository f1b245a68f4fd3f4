// A backlog longer than the ready jobs kept as records (the rest parked as rows in the job
// table): every job still answers to get/cancel/result/counts/list, keeps its place through
// compactions (which write parked jobs from their rows) and a restart, and runs in order.
import { strict as assert } from 'node:assert';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { HOT_READY } from '../src/scheduler/ready.js';
import { fixture, openApp, tempDir } from './helpers.js';

test('a backlog beyond the parked threshold keeps every job, its answers and its order across compactions and a restart', async (t) => {
  const dir = join(await tempDir(t), 'data');
  const log = join(await tempDir(t), 'runs.log');
  const total = HOT_READY + 12_000;
  const ids = Array.from({ length: total }, (_, i) => `b${i}`);
  // Past the threshold: a job with a field of its own (parked as its record), and a better priority.
  const retried = ids[HOT_READY + 5_000]!;
  const urgent = 'urgent';
  const options = { tasks: [fixture('timing')], concurrency: 1, compactAfterBytes: 2 * 1024 * 1024 };

  const a = await openApp(t, { ...options, dir, start: false });
  for (let from = 0; from < total; from += 1000) {
    await a.sendMany(
      'timing.stamp',
      ids.slice(from, from + 1000).map((id) => (id === retried ? { args: [log], id, maxRetries: 1 } : { args: [log], id })),
    );
  }
  await a.send('timing.stamp', [log], { id: urgent, priority: 5 });
  assert.equal((await a.counts()).pending, total + 1);
  const far = ids[total - 3]!;
  assert.deepEqual((await a.get(far))?.args, [log]);
  assert.equal((await a.get(far))?.state, 'pending');
  const cancelled = ids[HOT_READY + 7_000]!;
  assert.equal(await a.cancel(cancelled), true);
  assert.equal((await a.get(cancelled))?.state, 'cancelled');
  await assert.rejects(a.result(ids[total - 1]!, { timeout: 0.05 }), (err: { code?: string; message: string }) => {
    assert.equal(err.code, 'RESULT_TIMEOUT');
    assert.match(err.message, /timing\.stamp.*it is pending/);
    return true;
  });
  const page = await a.list({ state: 'pending', limit: 3 });
  assert.equal(page.jobs.length, 3);
  assert.equal((await a.send('timing.stamp', [log], { id: ids[total - 2]! })).created, false, 'a parked id is known');
  assert.ok(a.recovery !== undefined);
  await a.close({ timeout: 5 });

  const b = await openApp(t, { ...options, dir, start: false });
  assert.equal(b.recovery.found.pending, total, 'every job but the cancelled one is waiting after the restart');
  assert.equal((await b.get(cancelled))?.state, 'cancelled');
  await b.start();
  await b.result(ids[total - 1]!, { timeout: 120 });
  await b.idle();
  const ran = (await readFile(log, 'utf8'))
    .trim()
    .split('\n')
    .map((l) => (JSON.parse(l) as { id: string }).id);
  const expected = [urgent, ...ids.filter((id) => id !== cancelled)];
  assert.equal(ran.length, expected.length);
  const firstOutOfOrder = ran.findIndex((id, i) => id !== expected[i]);
  assert.equal(
    firstOutOfOrder,
    -1,
    `job ${ran[firstOutOfOrder]} ran at position ${firstOutOfOrder}, where ${expected[firstOutOfOrder]} was due`,
  );
  assert.equal((await b.counts()).succeeded, total);
});
