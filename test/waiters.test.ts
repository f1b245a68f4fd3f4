// Result waiters (src/waiters.ts): every result() of a job is settled with the job's
// outcome, whether it waits alone or beside others, and one that gave up waiting is not.
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { openApp } from './helpers.js';
import { newRecord, type JobRecord } from '../src/jobs.js';
import { ResultWaiters } from '../src/waiters.js';

const pending = (id: string): JobRecord => newRecord({ id, task: 't', args: '[]', priority: 0, createdAt: 1, runAt: 0, expiresAt: 0 });

test('a lone waiter and several waiters of one job all get its result, the same value', async () => {
  const waiters = new ResultWaiters();
  const alone = pending('a');
  const shared = pending('b');
  const one = waiters.wait(alone.id, alone, undefined, () => alone);
  const many = [
    waiters.wait(shared.id, shared, undefined, () => shared),
    waiters.wait(shared.id, shared, undefined, () => shared),
    waiters.wait(shared.id, shared, undefined, () => shared),
  ];
  alone.state = 'succeeded';
  alone.result = '{"n":1}';
  shared.state = 'succeeded';
  shared.result = '{"n":2}';
  waiters.settle(alone);
  waiters.settle(shared);
  assert.deepEqual(await one, { n: 1 });
  const values = await Promise.all(many);
  assert.deepEqual(values[0], { n: 2 });
  assert.ok(
    values.every((v) => v === values[0]),
    'the waiters of one job share its parsed result',
  );
});

test('a failed job rejects each of its waiters; a waiter that timed out leaves the others waiting', async () => {
  const waiters = new ResultWaiters();
  const job = pending('c');
  const patient = waiters.wait(job.id, job, undefined, () => job);
  const hasty = waiters.wait(job.id, job, 5, () => job);
  await assert.rejects(hasty, (err: { code?: string }) => err.code === 'RESULT_TIMEOUT');
  const later = waiters.wait(job.id, job, 60_000, () => job);
  job.state = 'failed';
  job.error = { name: 'Error', message: 'boom' };
  waiters.settle(job);
  for (const p of [patient, later]) await assert.rejects(p, (err: Error) => err.name === 'TaskFailedError' && /boom/.test(err.message));
});

test('a job not finished wakes nobody; closing rejects its waiters with APP_CLOSED', async () => {
  const waiters = new ResultWaiters();
  const job = pending('d');
  const first = waiters.wait(job.id, job, undefined, () => job);
  const second = waiters.wait(job.id, job, undefined, () => job);
  job.state = 'started';
  waiters.settle(job); // not final: both still wait
  waiters.rejectAll();
  for (const p of [first, second]) await assert.rejects(p, (err: { code?: string }) => err.code === 'APP_CLOSED');
});

test('a waiter added after closing is refused at once, not left waiting', async () => {
  const waiters = new ResultWaiters();
  waiters.rejectAll();
  await assert.rejects(
    waiters.wait('e', pending('e'), undefined, () => undefined),
    (err: { code?: string }) => err.code === 'APP_CLOSED' && /job e/.test(String(err)),
  );
});

test('result() of a job still pending after app.close() rejects with APP_CLOSED instead of never settling', async (t) => {
  const app = await openApp(t); // never started: the job stays pending
  const handle = await app.send('demo.echo', ['hi']);
  await app.close({ timeout: 1 });
  await assert.rejects(handle.result(), (err: { code?: string }) => err.code === 'APP_CLOSED');
});
