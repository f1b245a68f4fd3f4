// A job that takes its worker thread down, whatever the way, cannot starve the pool: it
// runs again (flagged recovered) until it has lost maxWorkerLosses workers (default 3),
// then fails for good with code WORKER_LOST; the jobs sent around it all finish.
import { strict as assert } from 'node:assert';
import { test, type TestContext } from 'node:test';
import { TaskFailedError, type Celeriac, type JobHandle } from '../src/index.js';
import { fixture, openApp, waitFor } from './helpers.js';

const POISON = fixture('poison');

async function failure(handle: JobHandle): Promise<TaskFailedError> {
  const err = await handle.result({ timeout: 60 }).then(
    () => assert.fail('the poison job succeeded'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof TaskFailedError, `expected a TaskFailedError, got ${String(err)}`);
  return err;
}

/** Normal jobs: returns a check that every one of them succeeded. */
async function bystanders(app: Celeriac, n: number): Promise<() => Promise<void>> {
  const handles = await app.sendMany(
    'poison.ok',
    Array.from({ length: n }, (_, i) => [5, i]),
  );
  return async () => {
    const results = await Promise.all(handles.map((h) => h.result({ timeout: 60 })));
    assert.deepEqual(
      results,
      Array.from({ length: n }, (_, i) => i),
    );
  };
}

async function poisonApp(
  t: TestContext,
  options: Parameters<typeof openApp>[1] = {},
): Promise<{ app: Celeriac; lost: () => number; logged: string[] }> {
  const logged: string[] = [];
  const app = await openApp(t, {
    tasks: [POISON],
    concurrency: 2,
    logger: { info: () => {}, warn: (m) => logged.push(m), error: (m) => logged.push(m) },
    ...options,
  });
  await app.start();
  return { app, logged, lost: () => logged.filter((m) => /worker thread lost/.test(m)).length };
}

test('a task that calls process.exit() runs maxWorkerLosses times (default 3, flagged recovered), then fails for good with WORKER_LOST; the other jobs finish', async (t) => {
  const { app, lost, logged } = await poisonApp(t);
  const before = await bystanders(app, 20);
  const bad = await app.send('poison.exit', []);
  const after = await bystanders(app, 20);
  const err = await failure(bad);
  assert.equal(err.remote.code, 'WORKER_LOST', `${err.remote.name}: ${err.remote.message}`);
  assert.equal(err.remote.name, 'WorkerExited');
  assert.match(
    err.remote.message,
    /poison\.exit: its worker thread exited with code 3.*\(it lost its worker thread 3 times; maxWorkerLosses is 3\)/,
  );
  const info = await app.get(bad.id);
  assert.equal(info?.state, 'failed');
  assert.equal(info?.attempts, 3);
  assert.equal(info?.recovered, true, 'the runs after the first were flagged recovered');
  await before();
  await after();
  assert.equal(lost(), 3, logged.join('\n'));
});

test('maxWorkerLosses 1: the job fails at the first loss', async (t) => {
  const { app, lost } = await poisonApp(t, { maxWorkerLosses: 1 });
  const bad = await app.send('poison.exit', []);
  const err = await failure(bad);
  assert.equal(err.remote.code, 'WORKER_LOST');
  assert.doesNotMatch(err.remote.message, /maxWorkerLosses/);
  assert.equal((await app.get(bad.id))?.attempts, 1);
  assert.equal(lost(), 1);
});

test('a thread that ends after the task returned, before its outcome was posted, by a way that names no job: the job runs again apart, its outcome is posted first; no loop', async (t) => {
  // One worker thread running two jobs at once: the poison returns while a job beside it
  // still runs, so its outcome waits for the end of the thread's turn (a lone job's would
  // leave at once, before the poison's setImmediate). Both began: the loss blames both.
  const { app, lost, logged } = await poisonApp(t, { concurrency: 1, workerConcurrency: 2 });
  const beside = await app.send('poison.ok', [2_000, 'beside']);
  // Nothing queued behind it either: a queued job would take the outcome out with it.
  const bad = await app.send('poison.exitAfterReturn', []);
  // Its first outcome died with the thread: it runs again, flagged recovered. A recovered
  // job's outcome is posted as soon as it ends, so the second run reports before the
  // thread ends again.
  assert.equal(await bad.result({ timeout: 60 }), 'returned');
  const info = await app.get(bad.id);
  assert.equal(info?.attempts, 2);
  assert.equal(info?.recovered, true);
  assert.equal(await beside.result({ timeout: 60 }), 'beside');
  await waitFor(() => lost() === 2, 30_000, 'the second loss to be reported');
  assert.equal(lost(), 2, logged.join('\n'));
  const next = await app.send('poison.attempt', []);
  assert.deepEqual(await next.result({ timeout: 30 }), { attempt: 1, recovered: false });
});

test('a lone job whose outcome was posted before its thread ended is not blamed: it keeps its result and runs once', async (t) => {
  // Nothing else runs or is queued in the thread: the outcome leaves as the job ends,
  // before the setImmediate the task left behind ends the thread.
  const { app, lost, logged } = await poisonApp(t, { concurrency: 1 });
  const bad = await app.send('poison.exitAfterReturn', []);
  assert.equal(await bad.result({ timeout: 60 }), 'returned');
  await waitFor(() => lost() === 1, 30_000, 'the loss to be reported');
  const info = await app.get(bad.id);
  assert.equal(info?.state, 'succeeded');
  assert.equal(info?.attempts, 1, 'the job ran once');
  assert.equal(info?.recovered, false);
  assert.equal(lost(), 1, logged.join('\n'));
});

test('a thread that ends by a way that names no job: the recovered job runs apart in its worker, the job that began beside it the first time succeeds', async (t) => {
  // One thread running two jobs at once: the first loss blames both (nobody was named),
  // so both run again recovered; each then runs alone, and only the poison is blamed again.
  const { app, lost, logged } = await poisonApp(t, { concurrency: 1, workerConcurrency: 2 });
  const innocent = await app.send('poison.ok', [400, 'innocent']);
  const bad = await app.send('poison.exitUnnamed', []);
  const err = await failure(bad);
  assert.equal(err.remote.code, 'WORKER_LOST', `${err.remote.name}: ${err.remote.message}`);
  assert.equal((await app.get(bad.id))?.attempts, 3);
  assert.equal(await innocent.result({ timeout: 60 }), 'innocent');
  assert.equal((await app.get(innocent.id))?.state, 'succeeded');
  assert.equal(lost(), 3, logged.join('\n'));
});

test('a job whose id is used again once its result expired starts with no worker loss counted, even if the old one ended by a timeout kill', async (t) => {
  const { app } = await poisonApp(t, { maxWorkerLosses: 2, resultTtl: 1, timeoutGrace: 0.2 });
  const id = 'exit-then-hang';
  const ended = async () => {
    const err = await failure(await app.send('poison.exitThenHang', [], { id }));
    assert.equal(err.remote.name, 'TimeoutError', `${err.remote.name}: ${err.remote.message}`);
    assert.notEqual(err.remote.code, 'WORKER_LOST');
    assert.equal((await app.get(id))?.attempts, 2, 'one loss, then the recovered run timed out');
  };
  await ended();
  await waitFor(async () => (await app.get(id)) === undefined, 30_000, 'the result to expire and be dropped');
  // The same id again: its first loss is its first, not the old job's second.
  await ended();
});

test('an error whose message getter throws fails its job; it does not kill worker after worker', async (t) => {
  const { app, lost, logged } = await poisonApp(t);
  const before = await bystanders(app, 10);
  const bad = await app.send('poison.unreadableError', []);
  const after = await bystanders(app, 10);
  await failure(bad);
  assert.equal((await app.get(bad.id))?.state, 'failed');
  assert.ok((await app.get(bad.id))!.attempts <= 3, `attempts: ${(await app.get(bad.id))!.attempts}`);
  await before();
  await after();
  assert.ok(lost() <= 3, logged.join('\n'));
});

test('maxWorkerLosses must be an integer ≥ 1', async (t) => {
  await assert.rejects(
    openApp(t, { tasks: [POISON], maxWorkerLosses: 0 }),
    (err: Error & { code?: string }) =>
      err.code === 'INVALID_CONFIG' && /"maxWorkerLosses" must be an integer ≥ 1, got 0/.test(err.message),
  );
});
