// Shutdown ends even when a task blocks its thread for good (a loop that never yields):
// the thread cannot read the shutdown's messages, so at the deadline it is terminated,
// and its job is given back (pending, flagged recovered); jobs queued behind it, which
// never began, are given back with their attempt uncounted.
import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { describe, before, test } from 'node:test';
import { createCeleriac } from '../src/index.js';
import { celeriac, ensureBuilt, exitWithin, explain, importTask, json, project, startWorker, waitFile } from './cli-helpers.js';
import { fixture, tempDir, waitFor } from './helpers.js';

/** Fails (instead of hanging the test) if `p` has not settled within `ms`. */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

test('close({ timeout }) ends with a task blocking its thread: the thread is terminated, the job given back', async (t) => {
  const tmp = await tempDir(t);
  const dir = join(tmp, 'data');
  const marker = join(tmp, 'blocked');
  const app = await createCeleriac({ dir, tasks: [fixture('poison')], concurrency: 1, logger: false });
  await app.start();
  const blocked = await app.send('poison.block', [marker]);
  await waitFor(() => waitFile(marker).then(() => true), 30_000, 'the blocking task to start');
  const behind = await app.send('poison.ok', [0, 'behind']);
  await within(app.close({ timeout: 1 }), 60_000, 'close({ timeout: 1 })');

  const again = await createCeleriac({ dir, tasks: [fixture('poison')], concurrency: 1, logger: false });
  t.after(() => again.close({ timeout: 1 }));
  const b = await again.get(blocked.id);
  assert.equal(b?.state, 'pending', JSON.stringify(b));
  assert.equal(b?.attempts, 1);
  assert.equal(b?.recovered, true, 'it was running: it may have had effects');
  const q = await again.get(behind.id);
  assert.equal(q?.state, 'pending', JSON.stringify(q));
  assert.equal(q?.recovered, false, 'it never began');
  assert.equal(q?.attempts, 0);
});

describe('celeriac worker with a task blocking its thread', { concurrency: 2 }, () => {
  before(() => ensureBuilt());

  const BLOCK_JS = `${importTask()}import { writeFileSync } from 'node:fs';

export const block = task('work.block', (marker) => {
  writeFileSync(marker, String(Date.now()));
  for (;;) {}
});
`;
  const blockProject = (t: Parameters<typeof project>[0]) =>
    project(t, {
      'celeriac.config.json': JSON.stringify({ dir: 'data', tasks: ['tasks'], concurrency: 1, prefetch: 1 }),
      'tasks/block.js': BLOCK_JS,
    });

  test('SIGTERM: warm shutdown ends at shutdownTimeout, exit 0; the job is pending, flagged recovered', async (t) => {
    const cwd = await blockProject(t);
    const worker = await startWorker(t, cwd, ['--shutdown-timeout', '1']);
    const marker = join(cwd, 'started');
    const sent = await celeriac(t, cwd, ['send', 'work.block', JSON.stringify([marker]), '--id', 'blocked']);
    assert.equal(sent.code, 0, explain(sent));
    await waitFile(marker, 30_000);
    worker.child.kill('SIGTERM');
    const exit = await exitWithin(worker, 60_000);
    assert.equal(exit.code, 0, `exit ${exit.code}/${exit.signal}\n${worker.stdout()}\n${worker.stderr()}`);
    assert.match(worker.stdout(), /worker stopped/);
    const job = json(await celeriac(t, cwd, ['show', 'blocked', '--json']));
    assert.equal(job.state, 'pending', JSON.stringify(job));
    assert.equal(job.recovered, true);
  });

  test('a second SIGINT ends a warm shutdown that would wait its whole shutdownTimeout', async (t) => {
    const cwd = await blockProject(t);
    const worker = await startWorker(t, cwd, ['--shutdown-timeout', '3600']);
    const marker = join(cwd, 'started');
    const sent = await celeriac(t, cwd, ['send', 'work.block', JSON.stringify([marker]), '--id', 'blocked']);
    assert.equal(sent.code, 0, explain(sent));
    await waitFile(marker, 30_000);
    worker.child.kill('SIGINT');
    await worker.waitOutput(/SIGINT: warm shutdown/, 10_000);
    worker.child.kill('SIGINT');
    const exit = await exitWithin(worker, 60_000);
    assert.equal(exit.code, 0, `exit ${exit.code}/${exit.signal}\n${worker.stdout()}\n${worker.stderr()}`);
    assert.match(worker.stdout(), /SIGINT: cold shutdown/);
    const job = json(await celeriac(t, cwd, ['show', 'blocked', '--json']));
    assert.equal(job.state, 'pending', JSON.stringify(job));
    assert.equal(job.recovered, true);
  });
});
