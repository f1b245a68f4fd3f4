import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { test } from 'node:test';
import { createCeleriac } from '../src/index.js';
import { fixture, openApp, tempDir } from './helpers.js';

const tasks = [fixture('workflows', 'rate.ts')];

/** The most start times that fall in any half-open window [t, t + windowMs). */
function busiestWindow(starts: number[], windowMs: number): number {
  const sorted = [...starts].sort((a, b) => a - b);
  let best = 0;
  let lo = 0;
  for (let hi = 0; hi < sorted.length; hi++) {
    while (sorted[hi]! - sorted[lo]! >= windowMs) lo++;
    best = Math.max(best, hi - lo + 1);
  }
  return best;
}

test('rate limit: 300 jobs of a "50/s" task all succeed, take at least 5.5 s, and never start more than 50 in any second; other tasks are not held up', async (t) => {
  const app = await openApp(t, { tasks, concurrency: 2, workerConcurrency: 8 });
  await app.start();
  const began = Date.now();
  const handles = await app.sendMany(
    'rate.fifty',
    Array.from({ length: 300 }, () => []),
  );
  // Sent after the limited ones, it runs long before the last of them.
  const other = await app.send('rate.free', []);
  const freeAt = (await other.result({ timeout: 30 })) as number;
  const starts = (await Promise.all(handles.map((h) => h.result({ timeout: 60 })))) as number[];
  const took = Date.now() - began;
  assert.ok(freeAt < Math.max(...starts), 'a task without a limit is not queued behind the limited ones');
  assert.ok(took >= 5500, `300 jobs at 50/s took ${took} ms`);
  const busiest = busiestWindow(starts, 1000);
  t.diagnostic(`took ${took} ms; busiest second: ${busiest} starts; first to last start: ${Math.max(...starts) - Math.min(...starts)} ms`);
  assert.ok(busiest <= 50, `${busiest} jobs started within one second`);
  for (const h of handles) assert.equal((await h.info())?.attempts, 1);
});

test('rate limit: a malformed rate is refused when the task is defined, naming the task, where it is and the expected form', async (t) => {
  const dir = await tempDir(t);
  const bad = fixture('workflows-bad', 'bad-rate.ts');
  await assert.rejects(createCeleriac({ dir: join(dir, 'data'), tasks: [bad], logger: false }), (err: Error & { code?: string }) => {
    assert.match(
      err.message,
      /task\("rate\.bad"\) at .*bad-rate\.ts:3.*rateLimit must be "<count>\/<s\|m\|h>".*"10\/s".*got "10 per second"/s,
    );
    return true;
  });
  for (const [value, shown] of [
    ['0/s', '"0/s"'],
    ['5/d', '"5/d"'],
    [10, '10'],
  ] as const) {
    const { resolveTaskOptions } = await import('../src/task.js');
    assert.throws(
      () => resolveTaskOptions({ rateLimit: value as string }, 'task("t")'),
      (err: Error & { code?: string }) => err.code === 'INVALID_TASK_OPTIONS' && err.message.includes(`got ${shown}`),
    );
  }
});
