// Running jobs before the whole data dir is read: a snapshot lists its waiting jobs first,
// best first; the journal is read before the snapshot's jobs; an open hands the first
// waiting jobs to the scheduler while the rest is still being read. These tests pin that
// what is handed out early is what would run first anyway, that the table at the end is
// exactly the journal replayed over the snapshot, and that a crash's started jobs are given
// back before they run again. Real files throughout.
import { strict as assert } from 'node:assert';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { repairDataDir } from '../src/admin.js';
import { createCeleriac, type Celeriac, type CeleriacError } from '../src/index.js';
import { submitToInbox } from '../src/inbox.js';
import { loadState } from '../src/store/load.js';
import { WAITING_STATES, type JobEvent, type JobRecord } from '../src/jobs.js';
import { decodeEvent, frame } from '../src/store/codec.js';
import { FileStore } from '../src/store/file-store.js';
import { fixture, journalRecords, readRuns, scanRecords, tempDir, waitFor } from './helpers.js';

const LIMIT_MS = 120_000;
const open = (dir: string) => FileStore.open({ dir, resultTtlMs: 86_400_000, compactAfterBytes: 1 << 30 });
const begin = (dir: string) => FileStore.begin({ dir, resultTtlMs: 86_400_000, compactAfterBytes: 1 << 30 });
const T0 = 1_700_000_000_000;
const add = (id: string, priority = 0, extra: Partial<{ runAt: number }> = {}): JobEvent => ({
  type: 'add',
  job: {
    id,
    task: 'demo.echo',
    args: JSON.stringify([id, 'x'.repeat(150)]),
    createdAt: T0,
    runAt: extra.runAt ?? 0,
    expiresAt: 0,
    priority,
  },
});

/** Every call of loadRest's callback, and how many jobs the table held at that moment. */
async function loadInSteps(dir: string): Promise<{ store: FileStore; calls: { jobs: JobRecord[]; tableSize: number }[] }> {
  const store = await begin(dir);
  const calls: { jobs: JobRecord[]; tableSize: number }[] = [];
  await store.loadRest((jobs) => calls.push({ jobs: [...jobs], tableSize: store.jobs.size }));
  return { store, calls };
}

const TASKS = fixture('crash', 'tasks');

/**
 * A data dir holding `n` crash.add jobs and what `more` sends, folded into a snapshot as a
 * long-running worker's compaction leaves it.
 */
async function compactedDir(dir: string, n: number, more: (app: Celeriac) => Promise<unknown>): Promise<void> {
  const first = await createCeleriac({ dir, tasks: TASKS, logger: false });
  for (let i = 0; i < n; i += 1000)
    await first.sendMany(
      'crash.add',
      Array.from({ length: Math.min(1000, n - i) }, (_, k) => [i + k, 1]),
    );
  await more(first);
  await first.close();
  const store = await open(dir);
  await store.compact();
  await store.close();
}

/**
 * An open that should fail: should it succeed after all (a bug), its app is closed when the
 * test ends, so that its worker threads cannot keep the test process alive.
 */
function closeIfOpened(t: TestContext, opening: Promise<Celeriac>): Promise<Celeriac> {
  t.after(async () => {
    const app = await opening.catch(() => undefined);
    await app?.close({ timeout: 1 });
  });
  return opening;
}

/** A comparable copy of a job table (a field set to undefined and one left out compare equal). */
const table = (jobs: ReadonlyMap<string, JobRecord>) => [...jobs.values()].map((j) => JSON.parse(JSON.stringify(j)) as JobRecord);

test('a snapshot lists the jobs that will run again first (waiting and started), higher priority first and in order within one, then the finished; its header counts them', {
  timeout: LIMIT_MS,
}, async (t) => {
  const dir = join(await tempDir(t), 'data');
  const store = await open(dir);
  const priorities = [0, 5, 0, -3, 5, 0, 9, -3];
  await store.commit(priorities.map((p, i) => add(`w${i}`, p)));
  await store.commit([add('done'), add('running', 7), add('later', 1, { runAt: Date.now() + 3_600_000 })]);
  const now = Date.now(); // finished within the result ttl: kept
  await store.commit([
    { type: 'start', id: 'done', at: now },
    { type: 'start', id: 'running', at: now },
  ]);
  await store.commit([{ type: 'succeed', id: 'done', at: now }]);
  await store.compact();
  await store.close();

  const { records } = scanRecords(await readFile(join(dir, 'snapshot.db')));
  const header = decodeEvent(records[0]!);
  assert.equal(header.type, 'header');
  const ids = records.slice(1, -1).map((r) => (decodeEvent(r) as { job: JobRecord }).job.id);
  assert.deepEqual(ids, ['w6', 'running', 'w1', 'w4', 'later', 'w0', 'w2', 'w5', 'w3', 'w7', 'done']);
  assert.equal((header as { raw: Record<string, unknown> }).raw.w, 10, 'ten will run again (the delayed and the started one too)');
});

test('an open hands out the first waiting jobs while the rest of the snapshot is still being read', { timeout: LIMIT_MS }, async (t) => {
  const dir = join(await tempDir(t), 'data');
  const store = await open(dir);
  const N = 20_000; // ~4 MB of snapshot: several slices
  for (let i = 0; i < N; i += 1000) await store.commit(Array.from({ length: 1000 }, (_, k) => add(`j${String(i + k).padStart(6, '0')}`)));
  await store.compact();
  await store.close();

  const { store: again, calls } = await loadInSteps(dir);
  t.after(() => again.close());
  assert.ok(calls.length > 2, `handed out in steps, not at once (${calls.length} calls)`);
  assert.ok(calls[0]!.tableSize < N / 2, `the first jobs were handed out with ${calls[0]!.tableSize} of ${N} read`);
  const order = calls.flatMap((c) => c.jobs.map((j) => j.id));
  assert.equal(order.length, N, 'every waiting job is handed out once');
  assert.deepEqual(order, [...order].sort(), 'in the order they were sent');
  assert.equal(again.jobs.size, N);
});

test('after a crash, jobs that were started are given back (recovered) before they are handed out, ahead of the rest', {
  timeout: LIMIT_MS,
}, async (t) => {
  const dir = join(await tempDir(t), 'data');
  const store = await open(dir);
  await store.commit(Array.from({ length: 50 }, (_, i) => add(`j${String(i).padStart(2, '0')}`)));
  await store.compact();
  const at = Date.now();
  await store.commit(Array.from({ length: 5 }, (_, i) => ({ type: 'start', id: `j0${i}`, at }) as JobEvent));
  await store.commit([{ type: 'succeed', id: 'j00', at }]);
  await store.close(); // no give-back: as a SIGKILL leaves it

  const { store: again, calls } = await loadInSteps(dir);
  t.after(() => again.close());
  assert.equal(again.report.interrupted, 4);
  const handed = calls.flatMap((c) => c.jobs);
  assert.deepEqual(
    handed.slice(0, 4).map((j) => [j.id, j.state, j.recovered, j.attempts]),
    [1, 2, 3, 4].map((i) => [`j0${i}`, 'pending', true, 1]),
  );
  assert.equal(handed.length, 49, 'the finished one is not handed out');
  assert.equal(again.jobs.get('j00')?.state, 'succeeded');
  // The give-back is on disk: the next open sees them pending and recovered, not started.
  await again.close();
  const third = await open(dir);
  t.after(() => third.close());
  assert.equal(third.report.interrupted, 0);
  assert.deepEqual(
    [1, 2, 3, 4].map((i) => third.jobs.get(`j0${i}`)?.recovered),
    [true, true, true, true],
  );
});

test("a better job the journal added holds the snapshot's jobs back: everything is handed out at the end, for the scheduler to order", {
  timeout: LIMIT_MS,
}, async (t) => {
  const dir = join(await tempDir(t), 'data');
  const store = await open(dir);
  for (let i = 0; i < 10_000; i += 1000) await store.commit(Array.from({ length: 1000 }, (_, k) => add(`s${i + k}`, 1)));
  await store.compact();
  await store.commit([add('urgent', 2), add('routine', 1)]);
  await store.close();

  const { store: again, calls } = await loadInSteps(dir);
  t.after(() => again.close());
  assert.equal(calls.length, 1, 'nothing early');
  assert.equal(calls[0]!.tableSize, 10_002, 'handed out with everything read');
  assert.equal(calls[0]!.jobs.length, 10_002);

  // An equal priority does not hold them back: the journal's jobs came later.
  const dir2 = join(await tempDir(t), 'data2');
  const s2 = await open(dir2);
  for (let i = 0; i < 10_000; i += 1000)
    await s2.commit(Array.from({ length: 1000 }, (_, k) => add(`s${String(i + k).padStart(5, '0')}`, 1)));
  await s2.compact();
  await s2.commit([add('t-routine', 1), add('t-low', 0)]);
  await s2.close();
  const { store: again2, calls: calls2 } = await loadInSteps(dir2);
  t.after(() => again2.close());
  assert.ok(calls2.length > 1);
  const order = calls2.flatMap((c) => c.jobs.map((j) => j.id));
  assert.deepEqual(order.slice(-2), ['t-routine', 't-low'], "the journal's jobs after the snapshot's");
});

test('a snapshot that does not say its jobs are ordered (older celeriac) is read whole before any job is handed out', {
  timeout: LIMIT_MS,
}, async (t) => {
  const dir = join(await tempDir(t), 'data');
  const store = await open(dir);
  for (let i = 0; i < 10_000; i += 1000) await store.commit(Array.from({ length: 1000 }, (_, k) => add(`s${i + k}`)));
  await store.compact();
  await store.close();
  const path = join(dir, 'snapshot.db');
  const lines = (await readFile(path, 'utf8')).split('\n');
  lines[0] = frame(lines[0]!.slice(9).replace(/,"w":\d+/, '')).trimEnd();
  await writeFile(path, lines.join('\n'));

  const { store: again, calls } = await loadInSteps(dir);
  t.after(() => again.close());
  assert.equal(calls.length, 1);
  assert.equal(calls[0]!.jobs.length, 10_000);
});

/** A seeded generator, so that a failure can be replayed. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

test('the table an open builds equals the journal replayed over the snapshot, over random histories, with jobs run during the read', {
  timeout: LIMIT_MS,
}, async (t) => {
  let handedEarly = 0;
  for (let seed = 1; seed <= 20; seed++) {
    const rnd = random(seed);
    // Seeds above 12 use one priority, so that the journal's adds do not hold the snapshot back.
    const priorities = seed > 12 ? [0] : [0, 0, 1, 3, -1];
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    const dir = join(await tempDir(t), `data-${seed}`);
    const store = await open(dir);
    // 1,500 ids, ~250 bytes a job: the snapshot spans several slices.
    const ids = Array.from({ length: 1500 }, (_, i) => `id${i}`);
    const STEPS = 3000;
    const compactAt = new Set([Math.floor((rnd() * STEPS) / 2), Math.floor((rnd() * STEPS) / 2) + STEPS / 2]);
    let batch: JobEvent[] = [];
    for (let step = 0; step < STEPS; step++) {
      const id = pick(ids);
      const at = Date.now(); // finished ones stay within the result ttl
      const ev: JobEvent = pick<() => JobEvent>([
        () => add(id, pick(priorities), rnd() < 0.1 ? { runAt: Date.now() + 3_600_000 } : {}),
        () => add(id, pick(priorities)),
        () => add(id, pick(priorities)),
        () => ({ type: 'start', id, at }),
        () => ({ type: 'start', id, at }),
        () => ({ type: 'succeed', id, at, result: '1' }),
        () => ({ type: 'fail', id, at, error: { name: 'Error', message: 'no' } }),
        () => ({ type: 'retry', id, at, runAt: rnd() < 0.5 ? 0 : Date.now() + 3_600_000, error: { name: 'Error', message: 'again' } }),
        () => ({ type: 'cancel', id, at }),
        () => ({ type: 'expire', id, at }),
        () => ({ type: 'requeue', id, at, revert: rnd() < 0.5 }),
        () => ({ type: 'forget', id, at }),
      ])();
      batch.push(ev); // applied in order within a commit, as live
      if (batch.length === 10 || compactAt.has(step)) {
        await store.commit(batch);
        batch = [];
      }
      if (compactAt.has(step)) await store.compact();
    }
    await store.commit(batch);
    const written = table(store.jobs); // the journal applied in order, as live
    await store.close(); // as a crash leaves it: started jobs stay started on disk

    // Reopen; while the snapshot is read, run some of the jobs handed out early (a start
    // and an outcome, committed at once), as the dispatcher would.
    const again = await begin(dir);
    const calls: { jobs: JobRecord[]; tableSize: number }[] = [];
    const live: Promise<void>[] = [];
    const ranLive = new Set<string>();
    await again.loadRest((jobs) => {
      calls.push({ jobs: [...jobs], tableSize: again.jobs.size });
      if (calls.length > 1) return; // the first call is the early one, when there is one
      for (const job of jobs.slice(0, 5)) {
        if (!WAITING_STATES.has(job.state) || job.runAt > Date.now()) continue;
        ranLive.add(job.id);
        const at = Date.now();
        live.push(
          again.commit([
            { type: 'start', id: job.id, at },
            { type: 'succeed', id: job.id, at, result: '"live"' },
          ]),
        );
      }
    });
    await Promise.all(live);
    const afterRead = table(again.jobs);
    try {
      // The table equals what was written, except: interrupted jobs come back pending and
      // recovered, and the jobs run during the read finished.
      const got = new Map(table(again.jobs).map((j) => [j.id, j]));
      assert.equal(got.size, written.length, `seed ${seed}: job count`);
      const interrupted = new Set(written.filter((j) => j.state === 'started').map((j) => j.id));
      for (const want of written) {
        const have = got.get(want.id)!;
        if (ranLive.has(want.id)) {
          assert.equal(have.state, 'succeeded', `seed ${seed}: ${want.id} ran during the read`);
          assert.equal(have.result, '"live"');
          continue;
        }
        const adjusted = interrupted.has(want.id) ? { ...want, state: 'pending', recovered: true } : want;
        assert.deepEqual(have, adjusted, `seed ${seed}: ${want.id}`);
      }
      assert.equal(again.report.interrupted, interrupted.size, `seed ${seed}: interrupted`);
      const as = (states: string[]) => written.filter((j) => states.includes(j.state)).length;
      assert.deepEqual(
        again.report.found,
        { pending: as(['pending', 'started']), retrying: as(['retrying']), finished: as(['succeeded', 'failed', 'cancelled', 'expired']) },
        `seed ${seed}: found`,
      );
      // Handed out: every waiting job once; what came early ranks before all that came later.
      const handed = calls.flatMap((c) => c.jobs);
      assert.equal(new Set(handed.map((j) => j.id)).size, handed.length, `seed ${seed}: each handed out once`);
      const waiting = written.filter((j) => WAITING_STATES.has(j.state) || j.state === 'started').map((j) => j.id);
      assert.deepEqual(new Set(handed.map((j) => j.id)), new Set(waiting), `seed ${seed}: every job that runs again is handed out`);
      const early = calls.slice(0, -1).flatMap((c) => c.jobs);
      const late = calls.at(-1)!.jobs;
      if (early.length > 0) {
        handedEarly++;
        assert.ok(calls[0]!.tableSize < written.length, `seed ${seed}: the first jobs were handed out before the table was complete`);
        const lowestEarly = Math.min(...early.map((j) => j.priority));
        for (const j of late)
          assert.ok(
            j.priority <= lowestEarly,
            `seed ${seed}: ${j.id} (priority ${j.priority}) came late after a job of priority ${lowestEarly}`,
          );
        for (let i = 1; i < early.length; i++)
          assert.ok(early[i - 1]!.priority >= early[i]!.priority, `seed ${seed}: early jobs best first`);
      }
    } finally {
      await again.close();
    }
    // What ran during the read, and the give-backs, are on disk: a third open reads the same table.
    const third = await open(dir);
    try {
      assert.equal(third.report.interrupted, 0, `seed ${seed}: every interrupted job was given back durably`);
      const reread = new Map(table(third.jobs).map((j) => [j.id, j]));
      assert.equal(reread.size, afterRead.length, `seed ${seed}: job count after the third open`);
      for (const want of afterRead) assert.deepEqual(reread.get(want.id), want, `seed ${seed}: ${want.id} after the third open`);
    } finally {
      await third.close();
    }
  }
  t.diagnostic(`handed out early in ${handedEarly} of 20 histories`);
  assert.ok(handedEarly >= 4, `jobs were handed out early in ${handedEarly} of 20 histories`);
});

test('with start: true, the first jobs run while the data dir is still being read, and every pending job runs exactly once', {
  timeout: LIMIT_MS,
}, async (t) => {
  const tmp = await tempDir(t);
  const dir = join(tmp, 'data');
  const side = join(tmp, 'runs.jsonl');
  const N = 20_000; // ~4.5 MB of snapshot: reading it takes far longer than starting a job
  await compactedDir(dir, N, (app) =>
    app.sendMany(
      'crash.record',
      [
        [side, 'a'],
        [side, 'b'],
        [side, 'c'],
      ],
      { priority: 5 },
    ),
  );

  const app = await createCeleriac({ dir, tasks: TASKS, logger: false, start: true, concurrency: 2 });
  // The table as createCeleriac() resolved: nothing changes it between the resolve and here (no I/O in between).
  const atOpen = await app.counts();
  t.after(() => app.close({ timeout: 5 }));
  assert.ok(atOpen.started + atOpen.succeeded > 0, `jobs were dispatched before createCeleriac() resolved (${JSON.stringify(atOpen)})`);
  await app.idle();
  const all = (await readRuns(side)).filter((r) => r.phase === 'start');
  assert.deepEqual(all.map((r) => r.label).sort(), ['a', 'b', 'c'], 'the higher-priority jobs ran once each');
  assert.equal((await app.counts()).succeeded, N + 3, 'every job ran');
  assert.equal((await app.counts()).pending, 0);
});

test('a message waiting in the inbox (a cancel sent while no worker ran) is applied before any job runs', {
  timeout: LIMIT_MS,
}, async (t) => {
  const tmp = await tempDir(t);
  const dir = join(tmp, 'data');
  const side = join(tmp, 'runs.jsonl');
  await compactedDir(dir, 5000, (app) => app.send('crash.record', [side, 'cancelled'], { id: 'first-in-line', priority: 9 }));
  await submitToInbox(dir, { v: 1, kind: 'cancel', ids: ['first-in-line'] });

  const app = await createCeleriac({ dir, tasks: TASKS, logger: false, start: true });
  t.after(() => app.close({ timeout: 5 }));
  await app.idle();
  assert.equal((await app.get('first-in-line'))?.state, 'cancelled');
  assert.deepEqual(await readRuns(side), [], 'the cancelled job never ran');
  assert.equal((await app.counts()).succeeded, 5000);
});

test('closing the store while it reads the snapshot stops the read, releases the data dir and loses nothing', {
  timeout: LIMIT_MS,
}, async (t) => {
  const dir = join(await tempDir(t), 'data');
  const store = await open(dir);
  for (let i = 0; i < 20_000; i += 1000) await store.commit(Array.from({ length: 1000 }, (_, k) => add(`j${i + k}`)));
  await store.compact();
  await store.close();

  const again = await begin(dir);
  let closing: Promise<void> | undefined;
  const loading = again.loadRest(() => {
    closing ??= again.close();
  });
  await assert.rejects(loading, (err: CeleriacError) => err.code === 'APP_CLOSED');
  await closing;
  const third = await open(dir); // the lock was released
  t.after(() => third.close());
  assert.equal(third.jobs.size, 20_000);
});

test('a read-only reader (the CLI beside a running worker) reads the ordered snapshot and the journal to the same table', {
  timeout: LIMIT_MS,
}, async (t) => {
  const dir = join(await tempDir(t), 'data');
  const store = await open(dir);
  await store.commit(Array.from({ length: 3000 }, (_, i) => add(`j${i}`, i % 3)));
  await store.compact();
  const at = Date.now();
  await store.commit([
    { type: 'start', id: 'j1', at },
    { type: 'succeed', id: 'j1', at },
    { type: 'cancel', id: 'j2', at },
    add('late', 7),
  ]);
  const live = table(store.jobs);
  const read = await loadState(dir, { readOnly: true }); // while the owner holds the dir
  await store.close();
  const got = new Map(table(read.jobs).map((j) => [j.id, j]));
  assert.equal(got.size, live.length);
  for (const want of live) assert.deepEqual(got.get(want.id), want, want.id);
});

test('a sliced snapshot read refuses what the whole-file read refused: cut at a line boundary, a wrong count, data after the trailer', {
  timeout: LIMIT_MS,
}, async (t) => {
  const dir = join(await tempDir(t), 'data');
  const store = await open(dir);
  for (let i = 0; i < 10_000; i += 1000) await store.commit(Array.from({ length: 1000 }, (_, k) => add(`j${i + k}`)));
  await store.compact();
  await store.close();
  const path = join(dir, 'snapshot.db');
  const whole = await readFile(path);
  const lineAfter = (at: number) => whole.indexOf(0x0a, at) + 1;
  const cases: Array<[string, Buffer, RegExp]> = [
    [
      'cut at a line boundary past the first slices',
      whole.subarray(0, lineAfter(Math.floor(whole.length * 0.7))),
      /incomplete: its trailer is missing/,
    ],
    [
      'a job line removed (the trailer counts one more)',
      Buffer.concat([whole.subarray(0, lineAfter(1000)), whole.subarray(lineAfter(lineAfter(1000)))]),
      /trailer counts 10000 jobs, found 9999/,
    ],
    [
      'a valid line after the trailer',
      Buffer.concat([whole, whole.subarray(lineAfter(0), lineAfter(lineAfter(0)))]),
      /data after its trailer/,
    ],
  ];
  for (const [what, bytes, message] of cases) {
    await writeFile(path, bytes);
    await assert.rejects(open(dir), (err: CeleriacError) => err.code === 'CORRUPT_JOURNAL' && message.test(err.message), what);
  }
  await writeFile(path, whole);
  const ok = await open(dir);
  t.after(() => ok.close());
  assert.equal(ok.jobs.size, 10_000);
});

test('damage deep in a snapshot found after jobs began: the open fails with the file and offset, what ran is on record, and repair recovers the rest', {
  timeout: LIMIT_MS,
}, async (t) => {
  const tmp = await tempDir(t);
  const dir = join(tmp, 'data');
  const side = join(tmp, 'runs.jsonl');
  const N = 20_000;
  await compactedDir(dir, N, (app) => app.sendMany('crash.record', [[side, 'first']], { priority: 1 }));
  // Flip a byte in a job line near the end: it is read long after the first jobs start.
  const path = join(dir, 'snapshot.db');
  const bytes = await readFile(path);
  const at = bytes.indexOf('"o":"j"', Math.floor(bytes.length * 0.9));
  bytes[at + 2] = bytes[at + 2]! ^ 0x01;
  await writeFile(path, bytes);

  await assert.rejects(closeIfOpened(t, createCeleriac({ dir, tasks: TASKS, logger: false, start: true })), (err: CeleriacError) => {
    assert.equal(err.code, 'CORRUPT_JOURNAL');
    assert.match(err.message, new RegExp(`snapshot ${path.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} at byte \\d+ is damaged`));
    return true;
  });
  // The job handed out first has usually run by then (the close let it finish); either way
  // the record says what happened. Repair takes the data dir's lock: the failed open let it go.
  const ran = (await readRuns(side)).some((r) => r.phase === 'end');
  t.diagnostic(`the first job ran before the damage was found: ${ran}`);
  const report = await repairDataDir(dir);
  assert.equal(report.clean, false);
  const after = await open(dir);
  t.after(() => after.close());
  assert.equal(after.jobs.size, N, 'every intact job kept (one line lost to the damage)');
  const firstJob = [...after.jobs.values()].find((j) => j.task === 'crash.record');
  assert.equal(firstJob?.state, ran ? 'succeeded' : 'pending', 'a run before the failure is on record; a job not begun is still pending');
});

test('a checksummed journal record that is not an event is refused before any job is handed out; one that does not decode, by the open', {
  timeout: LIMIT_MS,
}, async (t) => {
  const dir = join(await tempDir(t), 'data');
  const store = await open(dir);
  await store.commit([add('a'), add('b')]);
  await store.compact();
  await store.commit([add('c')]);
  await store.close();
  const segment = join(dir, (await readdir(dir)).find((f) => f.startsWith('journal-'))!);
  const good = journalRecords(await readFile(segment));
  for (const line of ['{"o":"j","i":"x","n":"t","s":"pending","k":0,"y":0,"t":1,"a":[]}', '{"o":"z","i":"x","t":1}']) {
    await writeFile(segment, Buffer.concat([good, Buffer.from(frame(line))]));
    await assert.rejects(
      begin(dir),
      (err: CeleriacError) => err.code === 'CORRUPT_JOURNAL' && err.message.includes(`at byte ${good.length}`),
      line,
    );
  }
  // An event of a known kind with a field missing: only seen when its job is read.
  await writeFile(segment, Buffer.concat([good, Buffer.from(frame('{"o":"s","i":"a"}'))]));
  await assert.rejects(
    open(dir),
    (err: CeleriacError) =>
      err.code === 'CORRUPT_JOURNAL' && err.message.includes(`at byte ${good.length}`) && /does not decode/.test(err.message),
  );
  await writeFile(segment, good);
  const ok = await open(dir);
  t.after(() => ok.close());
  assert.equal(ok.jobs.size, 3);
});

test('an open aborted by its signal while jobs run during the read: running jobs finish, the rest stay pending, createCeleriac rejects with APP_CLOSED', {
  timeout: LIMIT_MS,
}, async (t) => {
  const tmp = await tempDir(t);
  const dir = join(tmp, 'data');
  const side = join(tmp, 'runs.jsonl');
  const N = 20_000;
  await compactedDir(dir, N, (app) =>
    app.sendMany(
      'crash.record',
      [
        [side, 'a', { sleepMs: 300 }],
        [side, 'b', { sleepMs: 300 }],
      ],
      { priority: 5 },
    ),
  );

  const stop = new AbortController();
  const watching = setInterval(() => void readRuns(side).then((runs) => runs.length > 0 && stop.abort()), 5);
  t.after(() => clearInterval(watching));
  await assert.rejects(
    closeIfOpened(t, createCeleriac({ dir, tasks: TASKS, logger: false, start: true, signal: stop.signal })),
    (err: CeleriacError) => err.code === 'APP_CLOSED' && /aborted/.test(err.message),
  );
  clearInterval(watching);

  const runs = await readRuns(side);
  const started = runs.filter((r) => r.phase === 'start').map((r) => r.label);
  assert.ok(started.length > 0);
  assert.deepEqual(
    runs
      .filter((r) => r.phase === 'end')
      .map((r) => r.label)
      .sort(),
    [...started].sort(),
    'every job that began finished (warm)',
  );
  const again = await open(dir); // released
  t.after(() => again.close());
  assert.equal(again.report.interrupted, 0, 'nothing was left running');
  const states = new Set([...again.jobs.values()].map((j) => j.state));
  assert.deepEqual(
    [...states].filter((s) => s !== 'pending' && s !== 'succeeded'),
    [],
  );
  assert.equal(again.jobs.size, N + 2);

  // A signal that fired before the open: nothing is opened, nothing runs.
  await assert.rejects(
    closeIfOpened(t, createCeleriac({ dir, tasks: TASKS, logger: false, start: true, signal: AbortSignal.abort() })),
    (err: CeleriacError) => err.code === 'APP_CLOSED',
  );
  await assert.rejects(
    closeIfOpened(t, createCeleriac({ dir, tasks: TASKS, logger: false, signal: 'stop' as unknown as AbortSignal })),
    /"signal" must be an AbortSignal/,
  );
});
