// Compaction and time: the journal is folded into snapshot.db so the data dir stays
// bounded, finished jobs leave after resultTtl (pending ones never), and eta and retry
// timers survive a restart. Real files throughout.
import { strict as assert } from 'node:assert';
import { existsSync, readdirSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { createCeleriac, type Celeriac, type CeleriacError, type CeleriacOptions } from '../src/index.js';
import { encodeEvent, frame } from '../src/store/codec.js';
import { fixture, readRuns as runs, tempDir, waitFor } from './helpers.js';

const TASKS = fixture('crash', 'tasks');
/** A bound on each test, so that a hang fails instead of stalling the run (they take a few seconds). */
const LIMIT_MS = 120_000;
const SEGMENT = /^journal-(\d{8})\.log$/;

async function open(t: TestContext, dir: string, options: Partial<CeleriacOptions> = {}): Promise<Celeriac> {
  const app = await createCeleriac({ dir, tasks: TASKS, logger: false, concurrency: 2, ...options });
  t.after(() => app.close({ timeout: 1 }));
  return app;
}

/** Bytes of every file at the top of the dir, by name (files may vanish while we look: compaction deletes). */
async function sizes(dir: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const name of await readdir(dir)) {
    try {
      const st = await stat(join(dir, name));
      if (st.isFile()) out.set(name, st.size);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  return out;
}

const sum = (m: Map<string, number>, pred: (name: string) => boolean = () => true) =>
  [...m].filter(([n]) => pred(n)).reduce((a, [, b]) => a + b, 0);

test('with a small compactAfterBytes the data dir stays bounded while thousands of jobs run', { timeout: LIMIT_MS }, async (t) => {
  const dir = join(await tempDir(t), 'data');
  const compactAfterBytes = 64 * 1024;
  const app = await open(t, dir, { compactAfterBytes });
  await app.start();

  // Watch the journal while the jobs run.
  let maxJournal = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      maxJournal = Math.max(
        maxJournal,
        sum(await sizes(dir), (n) => SEGMENT.test(n)),
      );
      await new Promise((r) => setTimeout(r, 5));
    }
  })();

  const N = 3000;
  const ids: string[] = [];
  for (let b = 0; b < N / 250; b++) {
    const handles = await app.sendMany(
      'crash.add',
      Array.from({ length: 250 }, (_, i) => [b, i]),
    );
    await Promise.all(handles.map((h) => h.result({ timeout: 30 })));
    ids.push(...handles.map((h) => h.id));
  }
  sampling = false;
  await sampler;

  // What the journal alone would hold for these jobs: an add, a start and a success each.
  let uncompacted = 0;
  for (const id of ids) {
    const j = (await app.get(id))!;
    assert.equal(j.state, 'succeeded');
    const args = JSON.stringify(j.args);
    uncompacted += frame(
      encodeEvent({ type: 'add', job: { id, task: j.task, args, createdAt: j.createdAt.getTime(), runAt: 0, expiresAt: 0, priority: 0 } }),
    ).length;
    uncompacted += frame(encodeEvent({ type: 'start', id, at: j.startedAt!.getTime() })).length;
    uncompacted += frame(encodeEvent({ type: 'succeed', id, at: j.finishedAt!.getTime(), result: JSON.stringify(j.result) })).length;
  }

  // A compaction may still be writing (a snapshot.db.tmp beside the old snapshot, two
  // segments): measure once it has finished, as a restart would find the dir.
  const files = await waitFor(
    async () => {
      const now = await sizes(dir);
      return !now.has('snapshot.db.tmp') && [...now.keys()].filter((n) => SEGMENT.test(n)).length === 1 ? now : undefined;
    },
    15_000,
    'the last compaction to finish',
  );
  const segments = [...files.keys()].filter((n) => SEGMENT.test(n));
  const total = sum(files);
  t.diagnostic(`uncompacted ≥ ${uncompacted} B, dir ${total} B, largest journal seen ${maxJournal} B, segments now ${segments.join(', ')}`);
  assert.ok(files.has('snapshot.db'), 'the journal was folded into snapshot.db');
  assert.ok(!segments.includes('journal-00000001.log'), 'the first segment was deleted once folded in');
  assert.ok(segments.length <= 2, `old segments are deleted (left: ${segments.join(', ')})`);
  // The journal never grows far past the threshold: it is compacted, then starts over.
  assert.ok(maxJournal <= 4 * compactAfterBytes, `the journal reached ${maxJournal} bytes with compactAfterBytes ${compactAfterBytes}`);
  assert.ok(sum(files, (n) => SEGMENT.test(n)) <= 4 * compactAfterBytes);
  // A snapshot keeps one line per job, not its whole history.
  assert.ok(total < 0.8 * uncompacted, `the data dir holds ${total} bytes; its un-compacted journal would hold at least ${uncompacted}`);
  await app.close();

  const again = await open(t, dir, { compactAfterBytes });
  assert.ok(again.recovery.snapshotJobs > 0, 'the reopen starts from the snapshot');
  assert.ok(again.recovery.replayedRecords < N, `only the journal tail is replayed (${again.recovery.replayedRecords} records)`);
  for (const id of ids) {
    const j = await again.get(id);
    assert.equal(j?.state, 'succeeded', id);
    const [a, b] = j.args as [number, number];
    assert.equal(j.result, a + b, id);
  }
});

test('finished jobs are dropped after resultTtl; pending and retrying jobs never are', { timeout: LIMIT_MS }, async (t) => {
  const tmp = await tempDir(t);
  const dir = join(tmp, 'data');
  const side = join(tmp, 'runs.jsonl');
  const app = await open(t, dir, { resultTtl: 1 });
  await app.start();
  const finished = await Promise.all(Array.from({ length: 10 }, (_, i) => app.send('crash.add', [i, 1], { id: `fin-${i}` })));
  await Promise.all(finished.map((h) => h.result({ timeout: 10 })));
  const failed = await app.send('crash.retry_once', [side, 1], { id: 'fin-failed', maxRetries: 0 });
  await assert.rejects(failed.result({ timeout: 10 }));
  const eta = new Date(Date.now() + 3_600_000);
  const pending = await Promise.all(Array.from({ length: 3 }, (_, i) => app.send('crash.add', [i, 2], { id: `pending-${i}`, eta })));
  const retrying = await app.send('crash.retry_once', [side, 3600], { id: 'retrying-1' });
  await waitFor(async () => (await app.get('retrying-1'))?.state === 'retrying', 10_000, 'the retry to be scheduled');
  const gone = [...finished, failed];

  // The sweep compacts once results are past their ttl, which drops them.
  await waitFor(
    async () => (await Promise.all(gone.map((h) => app.get(h.id)))).every((info) => info === undefined),
    15_000,
    'finished jobs to be dropped',
  );
  for (const h of gone) {
    await assert.rejects(h.result(), (err: CeleriacError) => err.code === 'RESULT_GONE');
    assert.equal(await app.job(h.id), undefined);
  }
  for (const h of pending) assert.equal((await app.get(h.id))?.state, 'pending', `${h.id}: older than the ttl, but pending`);
  assert.equal((await retrying.info())?.state, 'retrying');
  // The drop is visible in memory as soon as the compaction fixes the snapshot's content;
  // the snapshot file lands when its write (and the segment cleanup) completes.
  await waitFor(
    () => existsSync(join(dir, 'snapshot.db')) && [...readdirSync(dir)].filter((f) => f.startsWith('journal-')).length === 1,
    15_000,
    'the compaction to finish',
  );
  // Dropped from the disk too, not only from memory.
  let onDisk = '';
  for (const [name] of await sizes(dir)) {
    const text = await readFile(join(dir, name), 'utf8');
    assert.ok(!text.includes('"fin-'), `${name} still holds a dropped job`);
    onDisk += text;
  }
  for (const h of pending) assert.ok(onDisk.includes(`"${h.id}"`), `${h.id} is still on disk`);
  await app.close();

  const again = await open(t, dir, { resultTtl: 1 });
  for (const h of gone) assert.equal(await again.get(h.id), undefined, `${h.id} stays dropped`);
  for (const h of pending) assert.equal((await again.get(h.id))?.state, 'pending', h.id);
  assert.equal((await again.get('retrying-1'))?.state, 'retrying');
});

test('a reopen after resultTtl drops the finished jobs it loads, not the pending ones', { timeout: LIMIT_MS }, async (t) => {
  // The retention time is the opening app's option, not stored: a long one while the
  // result must be kept and a short one once it has run out, so no step races the clock.
  const KEEP_S = 3600;
  const TTL_S = 1;
  const dir = join(await tempDir(t), 'data');
  const app = await open(t, dir, { resultTtl: KEEP_S });
  await app.start();
  const done = await app.send('crash.add', [2, 3], { id: 'done-1' });
  assert.equal(await done.result({ timeout: 10 }), 5);
  const waiting = await app.send('crash.add', [1, 1], { id: 'waiting-1', eta: new Date(Date.now() + 3_600_000) });
  await app.close(); // the finished job is still in the journal
  const finishedAt = (await done.info())!.finishedAt!.getTime();

  const early = await open(t, dir, { resultTtl: KEEP_S });
  assert.equal((await early.get('done-1'))?.result, 5, 'within the ttl the result is kept');
  assert.equal(early.recovery.droppedResults, 0);
  await early.close();

  await waitFor(() => Date.now() > finishedAt + TTL_S * 1000 + 100, TTL_S * 1000 + 5000, 'the ttl to pass');
  const late = await open(t, dir, { resultTtl: TTL_S });
  assert.equal(late.recovery.droppedResults, 1);
  assert.equal(await late.get('done-1'), undefined);
  assert.equal(await late.job('done-1'), undefined);
  assert.equal((await late.get(waiting.id))?.state, 'pending', 'a pending job older than the ttl is kept');
});

test('an eta survives a restart: the job runs after it, not before', { timeout: LIMIT_MS }, async (t) => {
  const tmp = await tempDir(t);
  const dir = join(tmp, 'data');
  const side = join(tmp, 'runs.jsonl');
  const app = await open(t, dir);
  await app.start();
  const eta = new Date(Date.now() + 1500);
  await app.send('crash.record', [side, 'eta'], { id: 'eta-1', eta });
  await app.close();
  assert.deepEqual(await runs(side), [], 'it did not run before the close');

  const again = await open(t, dir);
  const info = (await again.get('eta-1'))!;
  assert.equal(info.state, 'pending');
  assert.equal(info.runAt?.getTime(), eta.getTime(), 'the eta is on record');
  await again.start();
  assert.equal(await (await again.job('eta-1'))!.result({ timeout: 10 }), 'eta');
  const starts = (await runs(side)).filter((r) => r.phase === 'start');
  assert.equal(starts.length, 1);
  assert.ok(starts[0]!.at >= eta.getTime(), `ran ${eta.getTime() - starts[0]!.at} ms before its eta`);
  assert.equal(starts[0]!.attempt, 1);
});

test('a retry countdown survives a restart: the app closed mid-wait runs the retry after reopening', { timeout: LIMIT_MS }, async (t) => {
  const tmp = await tempDir(t);
  const dir = join(tmp, 'data');
  const side = join(tmp, 'runs.jsonl');
  const app = await open(t, dir);
  await app.start();
  await app.send('crash.retry_once', [side, 1.5], { id: 'retry-1' });
  await waitFor(async () => (await app.get('retry-1'))?.state === 'retrying', 10_000, 'the retry to be scheduled');
  const runAt = (await app.get('retry-1'))!.runAt!.getTime();
  await app.close();
  assert.ok(Date.now() < runAt, 'closed while the retry was still waiting');
  assert.equal((await runs(side)).filter((r) => r.phase === 'start').length, 1);

  const again = await open(t, dir);
  const info = (await again.get('retry-1'))!;
  assert.equal(info.state, 'retrying');
  assert.equal(info.retries, 1);
  assert.equal(info.runAt?.getTime(), runAt, 'the retry time is on record');
  assert.equal(info.error?.message, 'first run fails');
  await again.start();
  assert.equal(await (await again.job('retry-1'))!.result({ timeout: 10 }), 'retried');
  const starts = (await runs(side)).filter((r) => r.phase === 'start');
  assert.equal(starts.length, 2, 'the first run and the retry');
  assert.ok(starts[1]!.at >= runAt, `the retry ran ${runAt - starts[1]!.at} ms early`);
  assert.equal(starts[1]!.retries, 1);
  assert.equal(starts[1]!.attempt, 2);
  assert.equal(starts[1]!.recovered, false, 'a scheduled retry is not a crash recovery');
  assert.equal((await again.get('retry-1'))!.state, 'succeeded');
});

test('an id sent again after its result expired is kept across restarts (the old finished record does not swallow it)', {
  timeout: LIMIT_MS,
}, async (t) => {
  const dir = join(await tempDir(t), 'data');
  const app = await open(t, dir, { resultTtl: 1 });
  await app.start();
  const done = await app.send('crash.add', [2, 3], { id: 'again-1' });
  assert.equal(await done.result({ timeout: 10 }), 5);
  await app.close(); // no sweep yet: the finished record stays in the journal
  const finishedAt = (await done.info())!.finishedAt!.getTime();
  await waitFor(() => Date.now() > finishedAt + 1100, 5000, 'the ttl to pass');

  // This open drops the expired result in memory (not on disk), so the id is free again.
  const second = await open(t, dir, { resultTtl: 1 });
  assert.equal(await second.get('again-1'), undefined);
  const resent = await second.send('crash.add', [20, 30], { id: 'again-1', eta: new Date(Date.now() + 3_600_000) });
  assert.equal(resent.created, true, 'accepted as a new job');
  await second.close();

  const third = await open(t, dir, { resultTtl: 1 });
  const info = await third.get('again-1');
  assert.equal(info?.state, 'pending', 'the accepted resend survives the restart');
  assert.deepEqual(info.args, [20, 30]);
});
