// The snapshot writer when writes go wrong, and while the table changes under it: a write
// that takes fewer bytes than asked is finished, not taken as whole; a transient error is
// retried; a failure part-way leaves the previous snapshot in place and readable; and
// forget, expiry and a re-add applied while it writes leave the file as at the call.
import { strict as assert } from 'node:assert';
import { existsSync } from 'node:fs';
import { open, readFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { applyEvent, dropExpiredResults, FINISHED_STATES, type JobRecord } from '../src/jobs.js';
import { encodeJob, frame } from '../src/store/codec.js';
import { SnapshotFile } from '../src/store/snapshot-file.js';
import { readStoredArgs, StoredArgs } from '../src/store/stored-args.js';
import { tempDir } from './helpers.js';

function jobOf(i: number): JobRecord {
  const finished = i % 3 !== 0;
  return {
    id: `j${i}`,
    task: 't',
    args: JSON.stringify([i, 'x'.repeat(i % 50), 'é😀']),
    state: finished ? 'succeeded' : 'pending',
    attempts: finished ? 1 : 0,
    retries: 0,
    priority: 0,
    createdAt: i,
    runAt: 0,
    expiresAt: 0,
    recovered: false,
    ...(finished ? { startedAt: i, finishedAt: 10 + i, result: `{"r":${i}}` } : {}),
  };
}

/** Each record framed on its own: the header, runnable jobs, finished ones, the trailer. */
function expected(jobs: JobRecord[], args: Map<string, string>, journalFrom: number, createdAt: number): Buffer {
  const withArgs = jobs.map((j) => ({ ...j, args: args.get(j.id)! }));
  const runnable = withArgs.filter((j) => !FINISHED_STATES.has(j.state));
  const finished = withArgs.filter((j) => FINISHED_STATES.has(j.state));
  const lines = [`{"o":"h","k":"snapshot","v":1,"j":${journalFrom},"t":${createdAt},"w":${runnable.length}}`];
  for (const j of [...runnable, ...finished]) lines.push(encodeJob(j));
  lines.push(`{"o":"e","n":${jobs.length}}`);
  return Buffer.from(lines.map(frame).join(''));
}

type Write = (this: FileHandle, ...args: unknown[]) => Promise<{ bytesWritten: number; buffer: Buffer }>;

/** Replace FileHandle.prototype.write for this test: `wrap` gets the real write and the call's number. */
async function patchWrites(t: TestContext, dir: string, wrap: (real: Write, call: number) => Write): Promise<void> {
  const fh = await open(join(dir, 'probe'), 'w');
  const proto = Object.getPrototypeOf(fh) as { write: Write };
  await fh.close();
  const real = proto.write;
  let call = 0;
  proto.write = function (this: FileHandle, ...args: unknown[]) {
    return wrap(real, ++call).apply(this, args);
  };
  t.after(() => {
    proto.write = real;
  });
}

/** A snapshot file in a temp dir (closed after the test) and a table of `n` jobs with their args' text. */
async function snapshotOf(t: TestContext, n: number) {
  const dir = await tempDir(t);
  const path = join(dir, 'snapshot');
  const file = new SnapshotFile(path, { leaveFinishedArgs: true });
  t.after(() => file.close());
  const jobs = new Map<string, JobRecord>();
  for (let i = 0; i < n; i++) jobs.set(`j${i}`, jobOf(i));
  const args = new Map([...jobs.values()].map((j) => [j.id, j.args as string]));
  return { dir, path, file, jobs, args };
}

test('a write that takes fewer bytes than asked is finished: the snapshot is whole', async (t) => {
  const { dir, path, file, jobs, args } = await snapshotOf(t, 30_000);
  await patchWrites(t, dir, (real, call) =>
    call === 2
      ? function (this: FileHandle, buf: unknown, offset?: unknown, length?: unknown, position?: unknown) {
          // Half of what was asked, as a nearly full disk or a file-size limit may give.
          const b = buf as Buffer;
          const from = typeof offset === 'number' ? offset : 0;
          const len = typeof length === 'number' ? length : b.length - from;
          return real.call(this, b, from, Math.floor(len / 2), typeof position === 'number' ? position : null);
        }
      : real,
  );
  await file.write({ version: 1, journalFrom: 1, createdAt: 1, jobs: jobs.values() });
  assert.deepEqual(await readFile(path), expected([...jobs.values()], args, 1, 1));
});

test('a transient error (EAGAIN) part-way is retried and the snapshot is whole', async (t) => {
  const { dir, path, file, jobs, args } = await snapshotOf(t, 30_000);
  let failed = 0;
  await patchWrites(t, dir, (real, call) =>
    call === 3
      ? () => {
          failed++;
          return Promise.reject(Object.assign(new Error('resource temporarily unavailable'), { code: 'EAGAIN' }));
        }
      : real,
  );
  await file.write({ version: 1, journalFrom: 1, createdAt: 1, jobs: jobs.values() });
  assert.equal(failed, 1);
  assert.deepEqual(await readFile(path), expected([...jobs.values()], args, 1, 1));
});

test('a write failing part-way leaves the previous snapshot in place, its args readable, and the next write succeeds', async (t) => {
  const { dir, path, file, jobs, args } = await snapshotOf(t, 30_000);
  await file.write({ version: 1, journalFrom: 1, createdAt: 1, jobs: jobs.values() });
  const before = await readFile(path);
  let failing = true;
  await patchWrites(t, dir, (real, call) =>
    failing && call >= 2 ? () => Promise.reject(Object.assign(new Error('i/o error'), { code: 'EIO' })) : real,
  );
  await assert.rejects(file.write({ version: 1, journalFrom: 2, createdAt: 2, jobs: jobs.values() }), (err: { code?: string }) => {
    return err.code === 'STORE_WRITE_FAILED';
  });
  failing = false;
  assert.deepEqual(await readFile(path), before, 'the previous snapshot is untouched');
  assert.equal(existsSync(`${path}.tmp`), false, 'the half-written file is gone');
  const finished = [...jobs.values()].filter((j) => FINISHED_STATES.has(j.state));
  assert.ok(finished.every((j) => j.args instanceof StoredArgs));
  assert.deepEqual(
    await readStoredArgs(
      finished.map((j) => j.args as StoredArgs),
      finished.map((j) => j.id),
    ),
    finished.map((j) => args.get(j.id)),
  );
  await file.write({ version: 1, journalFrom: 3, createdAt: 3, jobs: jobs.values() });
  assert.deepEqual(await readFile(path), expected([...jobs.values()], args, 3, 3));
});

test('forget, expiry and a re-add applied while it writes leave the snapshot as at the call', async (t) => {
  const { path, file, jobs, args } = await snapshotOf(t, 30_000);
  await file.write({ version: 1, journalFrom: 1, createdAt: 1, jobs: jobs.values() });
  const atCall = [...jobs.values()];
  const want = expected(atCall, args, 2, 2);
  const writing = file.write({ version: 1, journalFrom: 2, createdAt: 2, jobs: jobs.values() });
  applyEvent(jobs, { type: 'forget', id: 'j1', at: 5 });
  dropExpiredResults(jobs, 1_000, 0);
  applyEvent(jobs, { type: 'add', job: { id: 'j29999', task: 'new', args: '["new"]', createdAt: 9, runAt: 0, expiresAt: 0, priority: 0 } });
  applyEvent(jobs, { type: 'start', id: 'j29999', at: 9 });
  applyEvent(jobs, { type: 'succeed', id: 'j29999', at: 9, result: '1' });
  await writing;
  assert.deepEqual(await readFile(path), want);
});
