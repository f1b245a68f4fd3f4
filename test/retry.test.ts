import { strict as assert } from 'node:assert';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { DEFAULT_MAX_RETRIES, DEFAULT_RETRY_DELAY_MS, TaskFailedError, task, type TaskDefinition } from '../src/index.js';
import { backoffMs, retryDecision } from '../src/pool/thread/outcome.js';
import type { WireJob } from '../src/pool/protocol.js';
import { fixture, openApp, tempDir, waitFor } from './helpers.js';

const retryApp = (t: Parameters<typeof openApp>[0], extra = {}) => openApp(t, { tasks: [fixture('retry')], ...extra });

test("Celery's defaults: countdown 180 s, at most 3 retries", async (t) => {
  assert.equal(DEFAULT_RETRY_DELAY_MS, 180_000);
  assert.equal(DEFAULT_MAX_RETRIES, 3);
  const app = await retryApp(t);
  await app.start();
  const h = await app.send('retry.defaults', []);
  const info = await waitFor(
    async () => {
      const info = await h.info();
      return info?.state === 'retrying' ? info : undefined;
    },
    10_000,
    'a retry',
  );
  assert.equal(info!.retries, 1);
  const wait = info!.runAt!.getTime() - info!.startedAt!.getTime();
  assert.ok(wait >= 179_000 && wait <= 181_000, `retry scheduled ${wait} ms after the start`);
  assert.equal(info!.error?.message, 'try again later');
  assert.equal(app.tasks.find((x) => x.name === 'retry.defaults')?.maxRetries, 3);
});

test('retry() reschedules until the task succeeds', async (t) => {
  const app = await retryApp(t);
  await app.start();
  const h = await app.send('retry.flaky', [2]);
  assert.equal(await h.result({ timeout: 10 }), 2);
  const info = (await h.info())!;
  assert.equal(info.state, 'succeeded');
  assert.equal(info.attempts, 3);
  assert.equal(info.retries, 2);
});

test('exhausted retries fail the job with the last error', async (t) => {
  const app = await retryApp(t);
  await app.start();
  const h = await app.send('retry.always', []);
  await assert.rejects(h.result({ timeout: 10 }), (err: TaskFailedError) => {
    assert.ok(err instanceof TaskFailedError);
    assert.match(err.remote.message, /^still broken/);
    assert.match(err.remote.message, /gave up after 3 retries/);
    return true;
  });
  assert.equal((await h.info())?.attempts, 4, 'the first run plus 3 retries');
});

test('maxRetries can be overridden per call', async (t) => {
  const app = await retryApp(t);
  await app.start();
  const one = await app.send('retry.always', [], { maxRetries: 1 });
  await assert.rejects(one.result({ timeout: 10 }), /gave up after 1 retry/);
  assert.equal((await one.info())?.attempts, 2);
  const flaky = await app.send('retry.flaky', [4], { maxRetries: 3 });
  await assert.rejects(flaky.result({ timeout: 10 }), /transient failure #4/);
});

test('retry({ maxRetries }) applies to that retry only, as in Celery: the next retry without it uses the task limit', async (t) => {
  const app = await retryApp(t);
  await app.start();
  const h = await app.send('retry.raisedOnce', []);
  // Retry #1 is allowed by its own limit (5); retry #2 names none: the task's 1 is reached.
  await assert.rejects(h.result({ timeout: 10 }), /^.*failure #2 \(gave up after 1 retry; maxRetries is 1\)/);
  assert.equal((await h.info())?.attempts, 2);
  assert.equal((await h.info())?.retries, 1);
});

test('retry({ args }) runs the retry with new arguments', async (t) => {
  const app = await retryApp(t);
  await app.start();
  const h = await app.send('retry.newargs', [0]);
  assert.equal(await h.result({ timeout: 10 }), 3);
  assert.deepEqual((await h.info())?.args, [3]);
});

test('declarative policy: autoretryFor retries matching errors only', async (t) => {
  const app = await retryApp(t);
  await app.start();
  const byClass = await app.send('retry.auto', ['type']);
  const byCode = await app.send('retry.auto', ['code']);
  const other = await app.send('retry.auto', ['range']);
  assert.equal(await byClass.result({ timeout: 10 }), 2);
  assert.equal(await byCode.result({ timeout: 10 }), 1);
  await assert.rejects(other.result({ timeout: 10 }), /RangeError: not retried/);
  assert.equal((await other.info())?.attempts, 1);
});

test("autoretryFor stops at maxRetries: the task's own, or the one given at send", async (t) => {
  const app = await retryApp(t);
  await app.start();
  const byTask = await app.send('retry.autoAlways', []);
  const bySend = await app.send('retry.autoAlways', [], { maxRetries: 1 });
  const none = await app.send('retry.autoAlways', [], { maxRetries: 0 });
  await assert.rejects(byTask.result({ timeout: 10 }), /flaky #3 \(gave up after 2 retries; maxRetries is 2\)/);
  await assert.rejects(bySend.result({ timeout: 10 }), /flaky #2 \(gave up after 1 retry; maxRetries is 1\)/);
  await assert.rejects(none.result({ timeout: 10 }), /flaky #1 \(gave up after 0 retries; maxRetries is 0\)/);
  assert.deepEqual(
    (await Promise.all([byTask, bySend, none].map((h) => h.info()))).map((info) => [info?.attempts, info?.retries]),
    [
      [3, 2],
      [2, 1],
      [1, 0],
    ],
    'the first run plus maxRetries retries, no more',
  );
});

test('retry({ maxRetries }) stops at the limit it gives', async (t) => {
  const app = await retryApp(t);
  await app.start();
  const h = await app.send('retry.capped', []);
  await assert.rejects(h.result({ timeout: 10 }), /capped \(gave up after 1 retry; maxRetries is 1\)/);
  assert.equal((await h.info())?.attempts, 2);
});

test('every retry path allows exactly maxRetries retries: the last one is granted, the next refused', () => {
  const auto = task('limit.auto', { autoretryFor: [TypeError], maxRetries: 2, retryDelay: 1 }, () => 0);
  const manual = task('limit.manual', { maxRetries: 2, retryDelay: 1 }, () => 0);
  const wire = (retries: number, maxRetries?: number) =>
    ({
      seq: 1,
      id: 'j',
      task: 't',
      args: '[]',
      attempt: retries + 1,
      retries,
      recovered: false,
      ...(maxRetries === undefined ? {} : { maxRetries }),
    }) as WireJob;
  const paths: { path: string; def: TaskDefinition; err: () => unknown; max: number; sendMax?: number }[] = [
    { path: "autoretryFor, the task's maxRetries", def: auto, err: () => new TypeError('x'), max: 2 },
    { path: 'autoretryFor, maxRetries given at send', def: auto, err: () => new TypeError('x'), max: 4, sendMax: 4 },
    { path: "retry(), the task's maxRetries", def: manual, err: () => manual.retry({ exc: new Error('x') }), max: 2 },
    { path: 'retry(), maxRetries given at send', def: manual, err: () => manual.retry({ exc: new Error('x') }), max: 4, sendMax: 4 },
    { path: 'retry({ maxRetries })', def: manual, err: () => manual.retry({ exc: new Error('x'), maxRetries: 1 }), max: 1, sendMax: 4 },
  ];
  for (const { path, def, err, max, sendMax } of paths) {
    const decide = (retries: number) => retryDecision(wire(retries, sendMax), def, err(), 0, () => 0.5);
    assert.equal(decide(max - 1).retry, true, `${path}: retry #${max} is granted`);
    const refused = decide(max);
    assert.equal(refused.retry, false, `${path}: retry #${max + 1} is refused`);
    assert.match(refused.error.message, new RegExp(`maxRetries is ${max}\\)$`), path);
  }
});

test('backoff: exponential, capped, with full jitter', () => {
  const def = task('backoff.check', { retryBackoff: 2, retryBackoffMax: 30, retryJitter: false }, () => 0);
  const job = (retries: number) => ({ retries }) as WireJob;
  assert.deepEqual(
    [0, 1, 2, 3, 4, 5].map((r) => backoffMs(job(r), def, Math.random)),
    [2000, 4000, 8000, 16000, 30000, 30000],
  );
  const jittered = task('backoff.jitter', { retryBackoff: true }, () => 0);
  assert.equal(
    backoffMs(job(3), jittered, () => 0.5),
    4000,
  );
  assert.equal(
    backoffMs(job(3), jittered, () => 0),
    0,
  );
  const plain = task('backoff.plain', { retryDelay: '7s' }, () => 0);
  assert.equal(
    backoffMs(job(3), plain, () => 0.5),
    7000,
  );
});

test('a waiting retry holds no worker', async (t) => {
  const log = join(await tempDir(t), 'runs.log');
  const app = await retryApp(t, { concurrency: 1, prefetch: 1 });
  await app.start();
  const slow = await app.send('retry.slow', [log]);
  await waitFor(async () => (await slow.info())?.state === 'retrying', 10_000, 'the retry to be scheduled');
  const quick = await app.send('retry.quick', [log]);
  assert.equal(await quick.result({ timeout: 10 }), 'quick');
  assert.equal((await slow.info())?.state, 'retrying', 'the only worker ran another job while the retry waited');
  assert.equal(await slow.result({ timeout: 10 }), 'done');
  const runs = (await readFile(log, 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.deepEqual(
    runs.map((r) => r.quick ?? r.retries),
    [0, true, 1],
  );
});
