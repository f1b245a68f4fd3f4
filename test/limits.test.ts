// Limits: timeouts (cooperative and forced), the memory limit, and tasks that exit,
// crash, throw non-Errors or return what JSON cannot carry. Each failure must stay
// with its own job: earlier results stand, bystanders finish, new jobs run.
import { strict as assert } from 'node:assert';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { TaskFailedError, type Celeriac, type JobHandle } from '../src/index.js';
import { allThreadsLoaded, fixture, openApp, tempDir, waitFor } from './helpers.js';

const LIMITS = fixture('limits');

/** The job fails: result() rejects with TaskFailedError and get() shows state 'failed' with the same error. */
async function expectFailure(app: Celeriac, handle: JobHandle, name: string, message: RegExp): Promise<TaskFailedError> {
  let caught: unknown;
  await assert.rejects(handle.result({ timeout: 30 }), (err: unknown) => {
    caught = err;
    return true;
  });
  assert.ok(caught instanceof TaskFailedError, `expected a TaskFailedError, got ${String(caught)}`);
  const err = caught;
  assert.equal(err.code, 'JOB_FAILED');
  assert.equal(err.jobId, handle.id);
  assert.equal(err.remote.name, name, `remote error: ${err.remote.name}: ${err.remote.message}`);
  assert.match(err.remote.message, message);
  const info = await app.get(handle.id);
  assert.equal(info?.state, 'failed');
  assert.equal(info?.error?.name, name);
  assert.equal(info?.error?.message, err.remote.message);
  assert.equal(info?.result, undefined);
  return err;
}

/** An app on the limits fixtures with one finished job on record, to check later that it is untouched. */
async function appWithHistory(t: TestContext, options: Parameters<typeof openApp>[1] = {}) {
  const logged: string[] = [];
  const app = await openApp(t, {
    tasks: [LIMITS],
    concurrency: 2,
    logger: { info: (m) => logged.push(m), warn: (m) => logged.push(m), error: (m) => logged.push(m) },
    ...options,
  });
  await app.start();
  await allThreadsLoaded(app);
  const before = await app.send('limits.nap', [0, { kept: 'before' }]);
  assert.deepEqual(await before.result({ timeout: 15 }), { kept: 'before' });
  const untouched = async () => {
    const info = await app.get(before.id);
    assert.equal(info?.state, 'succeeded');
    assert.deepEqual(info?.result, { kept: 'before' });
    assert.equal(info?.attempts, 1);
  };
  const newJobsRun = async () => {
    const after = await app.send('limits.nap', [0, 'after']);
    assert.equal(await after.result({ timeout: 15 }), 'after');
  };
  return { app, logged, untouched, newJobsRun };
}

/**
 * A job that takes its worker down with it, while a bystander runs in the other worker:
 * the bad job fails with `name`, the bystander finishes undisturbed (one attempt),
 * the earlier result stands, and a new job runs.
 */
async function workerKillerScenario(
  t: TestContext,
  task: string,
  args: unknown[],
  name: string,
  message: RegExp,
  options: Parameters<typeof openApp>[1] = {},
) {
  const { app, logged, untouched, newJobsRun } = await appWithHistory(t, options);
  // Both workers are idle: the bystander goes to the first, the bad job to the other.
  const bystander = await app.send('limits.nap', [1500, 'bystander']);
  const bad = await app.send(task, args);
  const err = await expectFailure(app, bad, name, message);
  assert.equal(await bystander.result({ timeout: 15 }), 'bystander');
  assert.equal((await app.get(bystander.id))?.attempts, 1, 'the bystander ran once, undisturbed');
  assert.equal((await app.get(bystander.id))?.recovered, false);
  await untouched();
  await newJobsRun();
  await waitFor(() => logged.some((m) => /starting a replacement/.test(m)), 5000, 'the pool to report the replacement');
  // Back to full size once the replacement has loaded (until then jobs go to the live
  // worker): jobs that each hold a worker a while land on two threads.
  await allThreadsLoaded(app);
  const handles = await app.sendMany(
    'limits.where',
    Array.from({ length: 8 }, () => [150]),
  );
  const threads = new Set(await Promise.all(handles.map((h) => h.result({ timeout: 15 }))));
  assert.equal(threads.size, 2, `two workers again, saw threads ${[...threads].join(', ')}`);
  return { app, err, threads };
}

test("a timeout fires the task's AbortSignal and fails the job with TimeoutError, leaving its worker alive", async (t) => {
  const marker = join(await tempDir(t), 'abort.json');
  const { app, untouched, newJobsRun } = await appWithHistory(t, { concurrency: 1 });
  const h = await app.send('limits.abortable', [marker]);
  const err = await expectFailure(app, h, 'TimeoutError', /limits\.abortable exceeded its timeout of 0\.3 s/);
  assert.doesNotMatch(err.remote.message, /terminated/);
  const seen = JSON.parse(await readFile(marker, 'utf8')) as { aborted: boolean; name: string; threadId: number };
  assert.equal(seen.aborted, true, 'the task saw its signal fire');
  assert.equal(seen.name, 'TimeoutError', 'the abort reason is a TimeoutError');
  // One worker: the next job runs on the very same thread, so it was not terminated.
  const next = await app.send('limits.where', [0]);
  assert.equal(await next.result({ timeout: 15 }), seen.threadId);
  await untouched();
  await newJobsRun();
});

test('a task that ignores its timeout is stopped by terminating its worker, which the pool replaces', async (t) => {
  const marker = join(await tempDir(t), 'spin.txt');
  const { threads } = await workerKillerScenario(
    t,
    'limits.spin',
    [marker],
    'TimeoutError',
    /limits\.spin exceeded its timeout.*worker thread was terminated/,
    { timeoutGrace: 0.3 },
  );
  const killed = Number(await readFile(marker, 'utf8'));
  assert.ok(killed > 0);
  assert.ok(!threads.has(killed), 'the spinning worker is gone: a new one serves in its place');
});

test('maxMemoryMb: a task that allocates without bound fails with WorkerOutOfMemory; other jobs are unaffected', async (t) => {
  await workerKillerScenario(t, 'limits.hog', [], 'WorkerOutOfMemory', /limits\.hog ran out of memory.*64 MB \(maxMemoryMb\)/, {
    maxMemoryMb: 64,
  });
});

test('process.exit(3) in a task fails only its own job with WorkerExited', async (t) => {
  await workerKillerScenario(t, 'limits.exit', [], 'WorkerExited', /exited with code 3.*process\.exit/);
});

test('an uncaught exception from a timer inside a task fails that job with WorkerCrashed', async (t) => {
  await workerKillerScenario(t, 'limits.crashLater', [], 'WorkerCrashed', /kaboom from a timer/);
});

test('throwing a non-Error fails the job with NonErrorThrown', async (t) => {
  const { app, untouched, newJobsRun } = await appWithHistory(t);
  const a = await app.send('limits.throwNull', []);
  const b = await app.send('limits.throwString', []);
  await expectFailure(app, a, 'NonErrorThrown', /non-Error value: null/);
  await expectFailure(app, b, 'NonErrorThrown', /non-Error value: "str"/);
  await untouched();
  await newJobsRun();
});

test('a result JSON cannot carry fails the job with ResultNotSerializable', async (t) => {
  const { app, untouched, newJobsRun } = await appWithHistory(t);
  const fn = await app.send('limits.returnFunction', []);
  const big = await app.send('limits.returnBigInt', []);
  const cycle = await app.send('limits.returnCycle', []);
  await expectFailure(app, fn, 'ResultNotSerializable', /limits\.returnFunction: the return value\.nested\.fn is a function/);
  await expectFailure(app, big, 'ResultNotSerializable', /limits\.returnBigInt: the return value is a BigInt/);
  await expectFailure(app, cycle, 'ResultNotSerializable', /limits\.returnCycle: the return value\.self refers back to itself/);
  await untouched();
  await newJobsRun();
});

for (const [task, name] of [
  ['limits.exit', 'WorkerExited'],
  ['limits.crashLater', 'WorkerCrashed'],
] as const) {
  test(`${task} with workerConcurrency 2: a job running beside it in the same worker is not failed with it`, async (t) => {
    const { app, untouched, newJobsRun } = await appWithHistory(t, { concurrency: 1, workerConcurrency: 2 });
    const sibling = await app.send('limits.nap', [500, 'sibling']);
    const bad = await app.send(task, []);
    await expectFailure(app, bad, name, /./);
    // The sibling was interrupted by no fault of its own: it runs again (flagged recovered) and succeeds.
    assert.equal(await sibling.result({ timeout: 15 }), 'sibling');
    assert.equal((await app.get(sibling.id))?.state, 'succeeded');
    await untouched();
    await newJobsRun();
  });
}
