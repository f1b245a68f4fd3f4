// An id is free again once its job is forgotten, but not while that job's run still goes on
// in a worker (cancelled, its task deaf to the AbortSignal): the new job would take the old
// run's place in the dispatcher and get its outcome.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { CeleriacError } from '../src/index.js';
import { fixture, openApp, tempDir, waitFor } from './helpers.js';

test('sending an id whose cancelled, forgotten job still runs in a worker is refused (JOB_ID_BUSY); once that run ended the id is free', async (t) => {
  const release = join(await tempDir(t), 'release');
  const app = await openApp(t, { tasks: [fixture('pool')], concurrency: 1, workerConcurrency: 1 });
  await app.start();
  await app.send('pool.spinUntil', [release, 30_000], { id: 'reused' });
  await waitFor(async () => (await app.get('reused'))?.state === 'started', 20_000, 'the job to start');
  assert.equal(await app.cancel('reused'), true);
  assert.equal(await app.forget('reused'), true);
  await assert.rejects(
    app.send('pool.js.hello', ['again'], { id: 'reused' }),
    (err: unknown) => err instanceof CeleriacError && err.code === 'JOB_ID_BUSY' && /reused/.test(err.message),
  );
  // A delayed send takes the other path (accepted without a start).
  await assert.rejects(
    app.send('pool.js.hello', ['later'], { id: 'reused', countdown: 60 }),
    (err: unknown) => err instanceof CeleriacError && err.code === 'JOB_ID_BUSY',
  );
  assert.equal(await app.get('reused'), undefined, 'nothing was written for the refused sends');
  await writeFile(release, '');
  // The old run ends (its outcome is dropped: its job was cancelled); then the id is free.
  const again = await waitFor(
    () =>
      app
        .send('pool.js.hello', ['again'], { id: 'reused' })
        .catch((err: CeleriacError) => (err.code === 'JOB_ID_BUSY' ? undefined : Promise.reject(err))),
    20_000,
    'the id to be free',
  );
  assert.deepEqual(((await again.result({ timeout: 20 })) as { greeting: string }).greeting, 'hello again');
  // The pool's slot came back: another job runs.
  assert.equal(
    ((await (await app.send('pool.js.hello', ['next'])).result({ timeout: 20 })) as { greeting: string }).greeting,
    'hello next',
  );
});
