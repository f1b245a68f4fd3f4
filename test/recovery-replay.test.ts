// A job interrupted by a crash and run again by the next process must replay, at the
// open after that, exactly as that process saw it: attempt counted, recovered. Found by
// the kill loop (npm run torture): the recovery was applied in memory only, the journal
// kept the job `started`, and a replay dropped the next process's `start` of it.
import { strict as assert } from 'node:assert';
import { cp, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { createCeleriac, type Celeriac } from '../src/index.js';
import { fixture, tempDir, waitFor } from './helpers.js';

const TASKS = fixture('crash', 'tasks');

async function open(t: TestContext, dir: string): Promise<Celeriac> {
  const app = await createCeleriac({ dir, tasks: TASKS, logger: false, concurrency: 1 });
  t.after(() => app.close({ timeout: 1 }));
  return app;
}

const brief = async (app: Celeriac, id: string) => {
  const info = (await app.get(id))!;
  return { state: info.state, attempts: info.attempts, recovered: info.recovered };
};

/** What a SIGKILL leaves on disk while `id` runs: a copy of the data dir (without its LOCK) taken while it runs. */
async function crashedWhileRunning(
  t: TestContext,
  id: string,
  opts: { hangFirst?: boolean; sleepMs?: number } = { hangFirst: true },
): Promise<{ dir: string; side: string }> {
  const tmp = await tempDir(t);
  const live = join(tmp, 'live');
  const dir = join(tmp, 'crashed');
  const side = join(tmp, 'runs.jsonl');
  const app = await open(t, live);
  await app.start();
  await app.send('crash.record', [side, id, opts], { id });
  await waitFor(async () => (await readFile(side, 'utf8').catch(() => '')).includes('"start"'), 20_000, `${id} to begin`);
  for (const name of await readdir(live))
    if (name !== 'LOCK' && name !== 'worker.sock' && name !== 'client.sock')
      await cp(join(live, name), join(dir, name), { recursive: true });
  await app.close({ timeout: 0 });
  return { dir, side };
}

test('a job rerun after a crash keeps its attempt and recovered flag at the next open', { timeout: 60_000 }, async (t) => {
  const { dir, side } = await crashedWhileRunning(t, 'x');

  const second = await open(t, dir);
  assert.equal(second.recovery.interrupted, 1);
  await second.start();
  assert.equal(await (await second.job('x'))!.result({ timeout: 20 }), 'x');
  const live = await brief(second, 'x');
  assert.deepEqual(live, { state: 'succeeded', attempts: 2, recovered: true });
  await second.close();

  const third = await open(t, dir);
  assert.deepEqual(await brief(third, 'x'), live, 'the replay agrees with what the process that ran it saw');
  assert.equal(third.recovery.interrupted, 0);
  await third.close();
  const runs = (await readFile(side, 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { phase: string; attempt: number; recovered: boolean });
  assert.deepEqual(
    runs.filter((r) => r.phase === 'start').map((r) => [r.attempt, r.recovered]),
    [
      [1, false],
      [2, true],
    ],
  );
});

test('a job interrupted twice counts both attempts at the third open', { timeout: 60_000 }, async (t) => {
  // Every run of it sleeps a minute: both processes die while it runs.
  const { dir, side } = await crashedWhileRunning(t, 'y', { sleepMs: 60_000 });
  const second = await open(t, dir);
  await second.start();
  await waitFor(async () => (await readFile(side, 'utf8')).trim().split('\n').length === 2, 20_000, 'the second run to begin');
  const again = join(dir, '..', 'again');
  for (const name of await readdir(dir))
    if (name !== 'LOCK' && name !== 'worker.sock' && name !== 'client.sock')
      await cp(join(dir, name), join(again, name), { recursive: true });
  await second.close({ timeout: 0 });

  const third = await open(t, again);
  assert.equal(third.recovery.interrupted, 1);
  // The next run is attempt 3; it was attempt 2 again (the second start was dropped at replay).
  assert.deepEqual(await brief(third, 'y'), { state: 'pending', attempts: 2, recovered: true });
});
