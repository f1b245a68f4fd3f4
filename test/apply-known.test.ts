// applyEvent with the record the caller holds (`known`, what the dispatcher passes for a
// start or an outcome through commit's `records`): no look-up in the job table while that
// record is not finished, and the same result as a look-up in every case, a finished
// record whose id was freed and sent again included.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import test from 'node:test';
import { applyEvent, type JobRecord, type NewJob } from '../src/jobs.js';
import { FileStore } from '../src/store/file-store.js';
import { tempDir } from './helpers.js';

const job = (id: string, task = 't'): NewJob => ({ id, task, args: '[]', createdAt: 1, runAt: 0, expiresAt: 0, priority: 0 });

/** A job table that counts its look-ups. */
class CountingMap extends Map<string, JobRecord> {
  gets = 0;
  override get(id: string): JobRecord | undefined {
    this.gets++;
    return super.get(id);
  }
}

test('an unfinished known record is applied to without a look-up; the result is what a look-up gives', () => {
  const jobs = new CountingMap();
  const rec = applyEvent(jobs, { type: 'add', job: job('a') })!;
  jobs.gets = 0;
  assert.equal(applyEvent(jobs, { type: 'start', id: 'a', at: 2 }, rec), rec);
  assert.equal(applyEvent(jobs, { type: 'succeed', id: 'a', at: 3, result: '7' }, rec), rec);
  assert.equal(jobs.gets, 0, 'no look-up for a start and an outcome of an unfinished known record');
  assert.equal(jobs.get('a'), rec);
  assert.deepEqual([rec.state, rec.attempts, rec.startedAt, rec.finishedAt, rec.result], ['succeeded', 1, 2, 3, '7']);
});

test('a finished known record is looked up: an event for a namesake sent after it was forgotten reaches the namesake', () => {
  const jobs = new Map<string, JobRecord>();
  const old = applyEvent(jobs, { type: 'add', job: job('a', 'old') })!;
  applyEvent(jobs, { type: 'cancel', id: 'a', at: 2 });
  applyEvent(jobs, { type: 'forget', id: 'a', at: 3 });
  const fresh = applyEvent(jobs, { type: 'add', job: job('a', 'new') })!;
  assert.notEqual(fresh, old);
  // What a look-up would do: the start applies to the record the table holds now.
  assert.equal(applyEvent(jobs, { type: 'start', id: 'a', at: 4 }, old), fresh);
  assert.equal(fresh.state, 'started');
  assert.equal(old.state, 'cancelled', 'the forgotten record is untouched');
});

test("commit with the dispatcher's records: the table's record is changed in place, and a restart replays to the same state", async (t) => {
  const dir = join(await tempDir(t), 'data');
  const open = () => FileStore.open({ dir, resultTtlMs: 86_400_000, compactAfterBytes: 1 << 30 });
  let store = await open();
  const now = Date.now(); // a result kept for resultTtl from now, so that the restart keeps it
  await store.commit([{ type: 'add', job: { ...job('a'), createdAt: now } }]);
  const rec = store.jobs.get('a')!;
  await store.commit([{ type: 'start', id: 'a', at: now + 1 }], [rec]);
  await store.commit([{ type: 'succeed', id: 'a', at: now + 2, result: '"done"' }], [rec]);
  assert.equal(store.jobs.get('a'), rec);
  assert.deepEqual([rec.state, rec.attempts, rec.finishedAt, rec.result], ['succeeded', 1, now + 2, '"done"']);
  await store.close();
  store = await open();
  t.after(() => store.close());
  const replayed = store.jobs.get('a')!;
  assert.deepEqual([replayed.state, replayed.attempts, replayed.finishedAt, replayed.result], ['succeeded', 1, now + 2, '"done"']);
});
