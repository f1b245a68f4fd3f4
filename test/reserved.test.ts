// Prefetch reserves jobs ahead of the workers: reserved is not running. The app's counts
// and get() show reserved jobs as such (a reader of the data dir, as pending), and after a
// crash only the jobs a worker held (started) are flagged recovered; the others wait again.
import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { test } from 'node:test';
import { createCeleriac } from '../src/index.js';
import { loadState } from '../src/store/load.js';
import { fixture, openApp, readRuns, tempDir, waitFor } from './helpers.js';
import { spawnChild } from './fixtures/crash/spawn-child.js';

const LIMIT_MS = 120_000;
/** Jobs a worker can hold at once: 4 dispatch units per slot of at most 4 jobs of a task not yet measured (dispatcher.ts). */
const HELD_PER_SLOT = 4 * 4;

test('jobs taken ahead of a free worker read as reserved, not started, in counts and get()', { timeout: LIMIT_MS }, async (t) => {
  const log = join(await tempDir(t), 'runs.log');
  const app = await openApp(t, { tasks: [fixture('timing')], concurrency: 1, prefetch: 16 });
  await app.start();
  const hs = await app.sendMany(
    'timing.wait',
    Array.from({ length: 30 }, () => [60_000, log]),
  );
  await waitFor(
    async () => {
      const c = await app.counts();
      return c.started >= 1 && c.reserved + c.started === 16;
    },
    20_000,
    'prefetch to fill and the worker to take its first jobs',
  );
  const counts = await app.counts();
  assert.ok(counts.started >= 1 && counts.started <= HELD_PER_SLOT, `started: only what the worker holds (${JSON.stringify(counts)})`);
  assert.equal(counts.reserved, 16 - counts.started);
  assert.equal(counts.pending, 14);
  const states = (await Promise.all(hs.map((h) => h.info()))).map((info) => info?.state);
  assert.equal(states.filter((s) => s === 'reserved').length, counts.reserved, 'get() says reserved too');
  for (const h of hs) await app.cancel(h.id);
});

test('after a SIGKILL, only started jobs are flagged recovered; reserved ones wait again, unflagged', { timeout: LIMIT_MS }, async (t) => {
  const tmp = await tempDir(t);
  const dir = join(tmp, 'data');
  const side = join(tmp, 'runs.jsonl');
  const N = 200;
  const child = spawnChild(t, ['burst', dir, side, String(N)]);
  await child.waitLine((l) => l === 'ready', 60_000, 'ready');
  await waitFor(async () => (await readRuns(side)).filter((r) => r.phase === 'start').length >= 2, 30_000, 'both workers to begin a job');

  // What a reader (the CLI's list and show) sees while the worker runs: of the 2 slots ×
  // prefetch 64 jobs taken, only those the workers hold read as started; the rest pending.
  const seen = await loadState(dir, { readOnly: true });
  const byState = (state: string) => [...seen.jobs.values()].filter((j) => j.state === state).length;
  const started = byState('started');
  assert.ok(started >= 2 && started <= 2 * HELD_PER_SLOT, `started: what the workers hold (${started})`);
  assert.equal(byState('pending'), N - started, 'the rest, reserved ones included, read as pending');
  await child.kill();

  const begun = new Set((await readRuns(side)).filter((r) => r.phase === 'start').map((r) => r.id));
  const app = await createCeleriac({ dir, tasks: fixture('crash', 'tasks'), logger: false, concurrency: 2 });
  t.after(() => app.close({ timeout: 1 }));
  const jobs = [...(await loadState(dir, { readOnly: true })).jobs.values()];
  const recovered = jobs.filter((j) => j.recovered).map((j) => j.id);
  assert.equal(app.recovery.interrupted, recovered.length);
  assert.ok(
    recovered.length <= 2 * HELD_PER_SLOT,
    `flagged recovered: at most what the workers held (${recovered.length}), not the whole prefetch`,
  );
  for (const id of begun) assert.ok(recovered.includes(id), `${id} began before the kill: it is flagged recovered`);
  assert.deepEqual(
    jobs.filter((j) => j.state !== 'pending').map((j) => j.state),
    [],
    'every job waits again',
  );
  assert.equal(jobs.filter((j) => j.attempts > 0).length, recovered.length, 'only the started jobs count an attempt');
  assert.equal((await app.counts()).pending, N);
});
