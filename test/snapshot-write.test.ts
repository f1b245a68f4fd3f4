// The snapshot writer frames lines straight into buffers: its file must be byte for byte
// what framing each record on its own gives (`frame(encodeJob(job))` per line, the header
// first and the trailer last), for any record, whether its args are in memory or copied
// from the previous snapshot.
import { strict as assert } from 'node:assert';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { FINISHED_STATES, newRecord, type JobRecord, type JobState } from '../src/jobs.js';
import { ReadyJobs } from '../src/scheduler/ready.js';
import { encodeJob, frame } from '../src/store/codec.js';
import { JobTable } from '../src/store/job-table.js';
import { SnapshotFile } from '../src/store/snapshot-file.js';
import { readStoredArgs, StoredArgs } from '../src/store/stored-args.js';
import { tempDir } from './helpers.js';

const STATES: JobState[] = ['pending', 'started', 'reserved', 'retrying', 'succeeded', 'failed', 'cancelled', 'expired'];
const WIDE = ['é ü', '中文字符', '😀🎉', '\u2028\u2029', 'a"b\\c\n', ',"a":[1]}'];

/** A varied job: every optional field set on some, wide UTF-8 in args, results, errors and names. */
function jobOf(i: number): JobRecord {
  const state = STATES[i % STATES.length]!;
  const wide = WIDE[i % WIDE.length]!;
  const job: JobRecord = {
    id: `job-${i}-${wide}`,
    task: i % 5 === 0 ? `tâche.${i}` : 'bench.noop',
    args: JSON.stringify([{ i, s: wide.repeat((i % 7) + 1) }, i % 3 === 0 ? null : wide]),
    state,
    attempts: i % 4,
    retries: i % 3,
    priority: (i % 5) - 2,
    createdAt: 1_700_000_000_000 + i,
    runAt: i % 6 === 0 ? 1_700_000_100_000 + i : 0,
    expiresAt: i % 9 === 0 ? 1_700_000_200_000 + i : 0,
    recovered: i % 11 === 0,
  };
  if (i % 4 === 1) job.maxRetries = i % 8 === 1 ? Number.POSITIVE_INFINITY : 3;
  if (i % 4 === 2) job.retryDelay = 250;
  if (state !== 'pending' && state !== 'reserved') job.startedAt = job.createdAt + 5;
  if (FINISHED_STATES.has(state)) job.finishedAt = job.createdAt + 9;
  if (state === 'succeeded' && i % 2 === 0) job.result = JSON.stringify({ r: wide, n: i });
  if (state === 'failed' || state === 'retrying')
    job.error = {
      name: 'Error',
      message: `boom ${wide}`,
      stack: `Error: boom\n    at ${wide}`,
      code: 'E_X',
      cause: { name: 'TypeError', message: wide },
    };
  if (i % 10 === 3) job.progress = JSON.stringify({ done: i, of: wide });
  if (i % 7 === 2) job.queue = `q-${wide}`;
  if (i % 13 === 4) job.link = JSON.stringify({ next: [`w-${i}`] });
  if (i % 17 === 5) job.slot = i % 2 === 0 ? 'on-time' : 'backfill';
  // Lines longer than a write chunk (1 MiB), ASCII and wide.
  if (i === 40) job.args = JSON.stringify(['x'.repeat(1_500_000)]);
  if (i === 41) job.args = JSON.stringify(['😀'.repeat(400_000)]);
  return job;
}

/** What the file must hold: each record framed on its own, runnable jobs first (higher priority first), then the finished. */
function expected(jobs: JobRecord[], args: string[], journalFrom: number, createdAt: number): Buffer {
  const withArgs = jobs.map((j, k) => ({ ...j, args: args[k]! }));
  const runnable = withArgs.filter((j) => !FINISHED_STATES.has(j.state)).sort((a, b) => b.priority - a.priority);
  const finished = withArgs.filter((j) => FINISHED_STATES.has(j.state));
  const lines = [`{"o":"h","k":"snapshot","v":1,"j":${journalFrom},"t":${createdAt},"w":${runnable.length},"m":{"k":"v é"}}`];
  for (const j of [...runnable, ...finished]) lines.push(encodeJob(j));
  lines.push(`{"o":"e","n":${jobs.length}}`);
  return Buffer.from(lines.map(frame).join(''));
}

test('the snapshot writer writes what framing each record on its own gives, args in memory or on disk', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'snapshot');
  const file = new SnapshotFile(path, { leaveFinishedArgs: true });
  t.after(() => file.close());
  // Enough jobs to span several chunks, in a stable sort's order per priority (Array.sort is stable).
  const jobs = Array.from({ length: 12_000 }, (_, i) => jobOf(i));
  const args = jobs.map((j) => j.args as string);
  const marks = new Map([['k', 'v é']]);

  await file.write({ version: 1, journalFrom: 3, createdAt: 111, jobs, marks });
  assert.deepEqual(await readFile(path), expected(jobs, args, 3, 111), 'args in memory');
  const finished = jobs.filter((j) => FINISHED_STATES.has(j.state));
  assert.ok(finished.length > 5000 && finished.every((j) => j.args instanceof StoredArgs), 'finished args left on disk');

  // Some finished since: their args still in memory, between ones whose args are on disk.
  const fresh = jobOf(5);
  fresh.id = 'fresh';
  jobs.splice(6000, 0, fresh);
  args.splice(6000, 0, fresh.args as string);
  await file.write({ version: 1, journalFrom: 4, createdAt: 222, jobs, marks });
  assert.deepEqual(await readFile(path), expected(jobs, args, 4, 222), 'args copied from the previous snapshot');

  // Where each finished job's args were noted is where they are in the new file.
  const stored = jobs.filter((j) => FINISHED_STATES.has(j.state));
  const texts = await readStoredArgs(
    stored.map((j) => j.args as StoredArgs),
    stored.map((j) => j.id),
  );
  assert.deepEqual(
    texts,
    stored.map((j) => args[jobs.indexOf(j)]),
  );
});

test('a snapshot holds the jobs as they were when write() was called, though they change while it writes', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'snapshot');
  const file = new SnapshotFile(path, { leaveFinishedArgs: true });
  t.after(() => file.close());
  const jobs = Array.from({ length: 9_000 }, (_, i) => jobOf(i));
  const args = jobs.map((j) => j.args as string);
  const want = expected(
    jobs.map((j) => ({ ...j })),
    args,
    5,
    333,
  );
  const writing = file.write({ version: 1, journalFrom: 5, createdAt: 333, jobs, marks: new Map([['k', 'v é']]) });
  // What the store does to its records once the call returned: runnable jobs start, finish or retry in place.
  for (const job of jobs) {
    if (job.state === 'pending' || job.state === 'reserved') {
      job.state = 'started';
      job.attempts++;
      job.startedAt = 1;
    } else if (job.state === 'started') {
      job.state = 'succeeded';
      job.finishedAt = 2;
      job.result = '"late"';
    } else if (job.state === 'retrying') job.runAt = 3;
  }
  await writing;
  assert.deepEqual(await readFile(path), want);
});

test('parked rows are written as they were when write() was called, though jobs are parked, taken, run, looked up and replaced while it writes', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'snapshot');
  const file = new SnapshotFile(path, { leaveFinishedArgs: true });
  t.after(() => file.close());
  const table = new JobTable();
  const ready = new ReadyJobs(table, 500);
  const jobs: JobRecord[] = [];
  for (let i = 0; i < 10_000; i++) {
    const job = newRecord({
      id: `row-${i}-${WIDE[i % WIDE.length]}`,
      task: i % 3 === 0 ? 'tâche.a' : 'bench.noop',
      args: JSON.stringify([{ i, s: WIDE[i % WIDE.length] }]),
      createdAt: 1_700_000_000_000 + i,
      runAt: i % 6 === 0 ? 1_700_000_100_000 + i : 0,
      expiresAt: i % 9 === 0 ? 1_700_000_200_000 + i : 0,
      priority: i % 4 === 0 ? 2 : 0,
    });
    // Some jobs with a field of their own: parked as their records, between rows.
    if (i % 97 === 0) job.maxRetries = 4;
    jobs.push(job);
    table.set(job.id, job);
    ready.add(job);
  }
  assert.ok(table.parkedRows > 9000);
  const want = expected(
    jobs.map((j) => ({ ...j })),
    jobs.map((j) => j.args as string),
    6,
    444,
  ).toString();
  const writing = file.write({
    version: 1,
    journalFrom: 6,
    createdAt: 444,
    jobs: table.stored(),
    rows: table,
    marks: new Map([['k', 'v é']]),
  });
  // Once the call returned: more jobs are parked (the last blocks fill and are sealed), a
  // look-up makes a row a record, a record is set over a row, every job is taken (its
  // blocks let go) and starts, and the table is cleared.
  for (let i = 0; i < 3_000; i++) {
    const job = newRecord({ id: `late-${i}`, task: 'bench.noop', args: `[${i}]`, createdAt: 1, runAt: 0, expiresAt: 0, priority: 0 });
    table.set(job.id, job);
    ready.add(job);
  }
  table.get(jobs[7_001]!.id)!.progress = '"seen"';
  table.set(jobs[8_002]!.id, { ...jobs[8_002]!, args: '["replaced"]' });
  for (let job = ready.take(); job; job = ready.take()) {
    job.state = 'started';
    job.attempts++;
    job.startedAt = 1;
  }
  assert.equal(table.parkedRows, 0);
  table.clear();
  await writing;
  assert.equal((await readFile(path)).toString(), want);
});

test('a snapshot read back slice by slice gives every job as written, lines longer than a slice included', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'snapshot');
  const file = new SnapshotFile(path);
  t.after(() => file.close());
  // Lines from a few hundred bytes to 3 MB: cut across slices, and longer than the largest slice (1 MiB).
  const jobs = Array.from({ length: 20_000 }, (_, i) => jobOf(i));
  jobs[100]!.args = JSON.stringify(['y'.repeat(3_000_000)]);
  jobs[101]!.args = JSON.stringify(['é'.repeat(1_100_000)]);
  jobs[15_000]!.args = JSON.stringify(['z'.repeat(2_100_000)]);
  await file.write({ version: 1, journalFrom: 2, createdAt: 1, jobs });
  const snapshot = await file.read();
  assert.ok(snapshot?.body);
  const read: JobRecord[] = [];
  for (let slice = await snapshot.body.next(); slice; slice = await snapshot.body.next()) read.push(...slice);
  await snapshot.body.close();
  const byId = new Map(read.map((j) => [j.id, j]));
  assert.equal(read.length, jobs.length);
  for (const job of jobs) {
    const got = byId.get(job.id);
    assert.ok(got, job.id);
    assert.equal(encodeJob(got), encodeJob({ ...job, state: job.state === 'reserved' ? 'pending' : job.state }), job.id);
  }
});
