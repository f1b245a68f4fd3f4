// Ready jobs far back in the lists are parked in the job table as rows (src/store/job-table.ts,
// src/store/parked-jobs.ts): they come out in the same order, as the same jobs, and the table
// still answers for them (get, has, size, listing) as if they were records.
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { readJobPage, type JobPage, type ListOptions } from '../src/job-query.js';
import { newRecord, type JobRecord } from '../src/jobs.js';
import { ReadyJobs } from '../src/scheduler/ready.js';
import { JobTable, unparkedRecords } from '../src/store/job-table.js';

let seed = 11;
const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;

/** A pending job; every 13th has a field only some jobs have (kept as a record when parked), some have args beyond ASCII. */
function makeJob(n: number, priority: number): JobRecord {
  const args = n % 5 === 0 ? JSON.stringify([n, 'größe 🥕', { pad: 'x'.repeat(n % 300) }]) : JSON.stringify([n]);
  const job = newRecord({
    id: n % 17 === 0 ? `jöb-${n}` : `job-${n}`,
    task: `task.${n % 3}`,
    args,
    createdAt: 1_700_000_000_000 + n,
    runAt: n % 7 === 0 ? 1_700_000_000_500 + n : 0,
    expiresAt: n % 11 === 0 ? 1_800_000_000_000 + n : 0,
    priority,
  });
  if (n % 13 === 0) job.maxRetries = 2;
  return job;
}

/** What a job is, whether it is the same object or a record made again from its row. */
const fieldsOf = (j: JobRecord) => JSON.stringify(j);

test('parked jobs come out by priority, first come first within one, as the jobs that went in, across interleaved adds, takes and look-ups', () => {
  const table = new JobTable();
  const ready = new ReadyJobs(table, 50);
  let waiting: { job: JobRecord; n: number; fields: string }[] = [];
  let n = 0;
  let parkedSeen = 0;
  for (let round = 0; round < 300; round++) {
    const adds = Math.floor(random() * 120);
    for (let i = 0; i < adds; i++) {
      const priority = random() < 0.8 ? 0 : Math.floor(random() * 5) - 2;
      const job = makeJob(n, priority);
      table.set(job.id, job);
      ready.add(job);
      waiting.push({ job, n: n++, fields: fieldsOf(job) });
    }
    parkedSeen = Math.max(parkedSeen, table.parkedRows);
    assert.equal(table.size, waiting.length, `round ${round}: size counts parked jobs`);
    // Look some up by id: the record given is the job's from then on (taken later, the same object).
    for (let i = 0; i < 3 && waiting.length > 0; i++) {
      const w = waiting[Math.floor(random() * waiting.length)]!;
      assert.ok(table.has(w.job.id));
      const got = table.get(w.job.id)!;
      assert.equal(fieldsOf(got), w.fields, `round ${round}: get(${w.job.id})`);
      w.job = got;
    }
    const takes = Math.floor(random() * 110);
    for (let i = 0; i < takes; i++) {
      waiting.sort((a, b) => b.job.priority - a.job.priority || a.n - b.n);
      const want = waiting.shift();
      const got = ready.take();
      if (!want) {
        assert.equal(got, undefined);
        continue;
      }
      assert.ok(got, `round ${round}, take ${i}: a job`);
      assert.equal(fieldsOf(got), want.fields, `round ${round}, take ${i}`);
      if (table.peek(want.job.id) === want.job) assert.equal(got, want.job, 'a job with a record comes back as that record');
      assert.equal(table.get(got.id), got, 'a job taken is the table’s record');
      assert.equal(ready.size, waiting.length);
      table.delete(got.id); // as if it ran and was forgotten
    }
  }
  assert.ok(parkedSeen > 1000, `the test parked jobs as rows (at most ${parkedSeen} at once)`);
  waiting = waiting.sort((a, b) => b.job.priority - a.job.priority || a.n - b.n);
  for (const w of waiting) assert.equal(fieldsOf(ready.take()!), w.fields);
  assert.equal(ready.take(), undefined);
  assert.equal(table.size, waiting.length);
  assert.equal(table.parkedRows, 0);
});

test('listing a table yields every job once, each lane in its order, and a look-up does not move a job in it', () => {
  const table = new JobTable();
  const ready = new ReadyJobs(table, 10);
  const jobs: JobRecord[] = [];
  for (let n = 1; n <= 5000; n++) {
    const job = makeJob(n, n % 4 === 0 ? 1 : 0);
    jobs.push(job);
    table.set(job.id, job);
    ready.add(job);
  }
  const finished = makeJob(0, 0);
  finished.state = 'succeeded';
  table.set(finished.id, finished);
  assert.ok(table.parkedRows > 4000);
  // A reader's look-up leaves a row a row; get() makes it the job's record, in its place.
  const rows = table.parkedRows;
  assert.equal(fieldsOf(table.read(jobs[4000]!.id)!), fieldsOf(jobs[4000]!));
  assert.equal(table.parkedRows, rows);
  table.get(jobs[3000]!.id)!.progress = '"looked at"';
  assert.equal(table.parkedRows, rows - 1);
  const listed = [...table.values()];
  assert.equal(listed.length, 5001);
  assert.deepEqual(new Set(listed.map((j) => j.id)).size, 5001);
  const order = (priority: number) => listed.filter((j) => j.priority === priority && j.state === 'pending').map((j) => j.id);
  assert.deepEqual(
    order(0),
    jobs.filter((j) => j.priority === 0).map((j) => j.id),
  );
  assert.deepEqual(
    order(1),
    jobs.filter((j) => j.priority === 1).map((j) => j.id),
  );
  assert.equal(listed.find((j) => j.id === jobs[3000]!.id)!.progress, '"looked at"');
  // A scan for anything but pending jobs need not make a record of each row.
  const unparked = [...unparkedRecords(table)];
  assert.ok(unparked.length < 1100 && unparked.includes(finished));
  assert.deepEqual(
    [...table.keys()],
    listed.map((j) => j.id),
  );
});

test('a list pages through parked rows as through records, and leaves the rows rows', async () => {
  const table = new JobTable();
  const plain = new Map<string, JobRecord>();
  const ready = new ReadyJobs(table, 100);
  for (let n = 1; n <= 3000; n++) {
    const job = makeJob(n, n % 5 === 0 ? 2 : 0);
    // Jobs created in the same millisecond are listed by id.
    job.createdAt = 1_700_000_000_000 + Math.floor(n / 4);
    plain.set(job.id, { ...job });
    table.set(job.id, job);
    ready.add(job);
  }
  const done = table.get('job-2')!;
  done.state = 'succeeded';
  plain.get('job-2')!.state = 'succeeded';
  const rows = table.parkedRows;
  assert.ok(rows > 2500);
  const everyPage = async (list: (q: ListOptions) => Promise<JobPage>, q: ListOptions) => {
    const pages: JobPage[] = [];
    let after: string | undefined;
    do {
      const page = await list(after === undefined ? q : { ...q, after });
      pages.push(page);
      after = page.next;
    } while (after !== undefined);
    return pages;
  };
  const parsed = (q: ListOptions) => ({ state: q.state, task: q.task, limit: q.limit ?? 50, after: parseAfter(q.after) });
  const fromTable = (q: ListOptions) => readJobPage(table.listing(), parsed(q), (picked) => table.recordOf(picked));
  const fromPlain = (q: ListOptions) => readJobPage(plain.values(), parsed(q), (job) => job);
  for (const q of [
    { limit: 97 },
    { state: 'pending', limit: 500 },
    { task: 'task.1', limit: 64 },
    { state: 'succeeded' },
  ] as ListOptions[]) {
    const expected = await everyPage(fromPlain, q);
    assert.ok(expected.flatMap((p) => p.jobs).length > 0);
    assert.deepEqual(await everyPage(fromTable, q), expected, JSON.stringify(q));
  }
  assert.equal(table.parkedRows, rows, 'listing made no row a record');
});

function parseAfter(after: string | undefined): { createdAt: number; id: string } | undefined {
  if (after === undefined) return undefined;
  const colon = after.indexOf(':');
  return { createdAt: Number(after.slice(0, colon)), id: after.slice(colon + 1) };
}

test('a job whose args UTF-8 cannot carry, or with fields beyond those of every job, is parked as its record, in its place', () => {
  const table = new JobTable();
  const ready = new ReadyJobs(table, 0);
  const plain = makeJob(1, 0);
  const lone = newRecord({ id: 'lone', task: 't', args: '["\ud800"]', createdAt: 1, runAt: 0, expiresAt: 0, priority: 0 });
  const retried = makeJob(26, 0); // maxRetries set
  const last = makeJob(2, 0);
  for (const j of [plain, lone, retried, last]) {
    table.set(j.id, j);
    ready.add(j);
  }
  assert.equal(table.parkedRows, 2, 'two rows');
  assert.equal(table.peek('lone'), lone, 'kept as its record');
  assert.equal(table.size, 4);
  assert.equal(ready.take()!.id, plain.id);
  assert.equal(ready.take(), lone);
  assert.equal(ready.take(), retried);
  assert.equal(fieldsOf(ready.take()!), fieldsOf(last));
});

test('only a job that never began and has no field beyond those of every job becomes a row', () => {
  const table = new JobTable();
  const ready = new ReadyJobs(table, 0);
  const plain = makeJob(1, 0);
  const others: [string, (j: JobRecord) => void][] = [
    ['link', (j) => (j.link = '{"k":"chain"}')],
    ['queue', (j) => (j.queue = 'io')],
    ['slot', (j) => (j.slot = 'on-time')],
    ['recovered', (j) => (j.recovered = true)],
    ['retries', (j) => (j.retries = 1)],
    ['attempts', (j) => (j.attempts = 1)],
    ['retryDelay', (j) => (j.retryDelay = 5)],
    ['retrying', (j) => (j.state = 'retrying')],
  ];
  table.set(plain.id, plain);
  ready.add(plain);
  assert.equal(table.parkedRows, 1);
  const kept: JobRecord[] = [];
  for (const [field, set] of others) {
    const job = makeJob(100 + kept.length, 0);
    kept.push(job);
    set(job);
    table.set(job.id, job);
    ready.add(job);
    assert.equal(table.parkedRows, 1, `a job with ${field} is kept as its record`);
    assert.equal(table.peek(job.id), job);
  }
  assert.equal(fieldsOf(ready.take()!), fieldsOf(plain));
  for (const [i, [field]] of others.entries()) assert.equal(ready.take(), kept[i], field);
});

test('a job added to the ready lists twice (sent by two paths at once) comes out as one record, the table’s, each time', () => {
  const table = new JobTable();
  const ready = new ReadyJobs(table, 2);
  const front = [makeJob(1, 0), makeJob(2, 0)];
  for (const j of front) {
    table.set(j.id, j);
    ready.add(j);
  }
  const twice = makeJob(3, 0);
  const lookedUp = makeJob(4, 0);
  for (const j of [twice, lookedUp]) {
    table.set(j.id, j);
    ready.add(j);
  }
  assert.equal(table.parkedRows, 2);
  ready.add(front[0]!); // at the front and now parked as a row too
  ready.add(table.get(twice.id)!); // its row made a record, then added again
  table.get(front[0]!.id); // the front job's row made a record too
  ready.add(table.get(lookedUp.id)!);
  table.get(lookedUp.id);
  // The dispatcher skips a record it already took (the job is running or done).
  const ran = new Map<string, JobRecord>();
  for (let job = ready.take(); job; job = ready.take()) {
    const before = ran.get(job.id);
    if (before) assert.equal(job, before, `${job.id} came out again as another record`);
    else ran.set(job.id, job);
  }
  assert.deepEqual([...ran.keys()], ['job-1', 'job-2', 'job-3', 'job-4']);
  for (const [id, job] of ran) assert.equal(table.get(id), job, `${id}: the record run is the table's`);
  assert.equal(table.parkedRows, 0);
});

test('a drained table gives back its rows: many parked, taken back, parked again', () => {
  const table = new JobTable();
  const ready = new ReadyJobs(table, 0);
  for (let round = 0; round < 3; round++) {
    const ids: string[] = [];
    for (let n = 0; n < 20_000; n++) {
      const job = makeJob(round * 100_000 + n, 0);
      ids.push(job.id);
      table.set(job.id, job);
      ready.add(job);
    }
    // Every row is found by its id, and an id never added is not.
    for (const id of ids) assert.ok(table.has(id), id);
    assert.equal(table.has('job-none'), false);
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      const job = ready.take()!;
      assert.equal(job.id, id);
      assert.equal(table.has(id), true);
      table.delete(id);
      assert.equal(table.has(id), false);
      // Taking rows out of the index leaves every other row findable.
      if (i % 7 === 0) for (let k = i + 1; k < ids.length; k += 61) assert.ok(table.has(ids[k]!), `${ids[k]} after ${i + 1} taken`);
    }
    assert.equal(table.size, 0);
    assert.equal(table.parkedRows, 0);
  }
});
