// Crash recovery with real processes, real SIGKILL and real files: what a child process
// acknowledged survives its death, interrupted jobs run again flagged, finished ones
// never do; a torn last record is cut off, damage in the middle is refused.
import { strict as assert } from 'node:assert';
import { appendFile, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { createCeleriac, type Celeriac, type CeleriacError, type CeleriacOptions } from '../src/index.js';
import { appendToJournal, fixture, journalRecords, readRuns as runs, tempDir, waitFor } from './helpers.js';
import { spawnChild } from './fixtures/crash/spawn-child.js';

const TASKS = fixture('crash', 'tasks');
/** A bound on each test, so that a hang fails instead of stalling the run (they take a few seconds). */
const LIMIT_MS = 120_000;

async function open(t: TestContext, dir: string, options: Partial<CeleriacOptions> = {}): Promise<Celeriac> {
  const app = await createCeleriac({ dir, tasks: TASKS, logger: false, concurrency: 2, ...options });
  t.after(() => app.close({ timeout: 1 }));
  return app;
}

async function newestJournal(dir: string): Promise<string> {
  const names = (await readdir(dir)).filter((f) => /^journal-\d{8}\.log$/.test(f)).sort();
  assert.ok(names.length > 0, `no journal segment in ${dir}`);
  return join(dir, names.at(-1)!);
}

test('every job acknowledged before a SIGKILL is on disk after restart, and runs', { timeout: LIMIT_MS }, async (t) => {
  const dir = join(await tempDir(t), 'data');
  const child = spawnChild(t, ['send', dir]);
  // Kill it in full flow: eight concurrent writers, single sends and batches.
  await waitFor(() => child.acks().length >= 400, 30_000, '400 acknowledged sends');
  await child.kill();
  const acked = child.acks();
  assert.ok(acked.length >= 400);
  assert.equal(new Set(acked).size, acked.length, 'each id is acknowledged once');

  const app = await open(t, dir);
  const infos = await Promise.all(acked.map((id) => app.get(id)));
  const missing = acked.filter((_, i) => infos[i] === undefined);
  assert.deepEqual(missing, [], `acknowledged jobs lost by the crash (of ${acked.length})`);
  for (const id of acked) assert.equal((await app.get(id))!.state, 'pending', id);

  await app.start();
  await Promise.all(acked.map(async (id) => (await app.job(id))!.result({ timeout: 30 })));
  for (const id of acked) {
    const info = (await app.get(id))!;
    assert.equal(info.state, 'succeeded', id);
    const [a, b] = info.args as [number, number];
    assert.equal(info.result, a + b, `${id}: the result of its own arguments`);
    assert.equal(info.attempts, 1, `${id} never started before the crash: first attempt`);
    assert.equal(info.recovered, false);
  }
});

test('SIGKILLs while compactions run all the time lose no acknowledged job', { timeout: LIMIT_MS }, async (t) => {
  const dir = join(await tempDir(t), 'data');
  const acked: string[] = [];
  // Three processes in turn on one dir, each killed in full flow; with a 4 KiB threshold
  // the journal is folded into the snapshot every few dozen records, so kills land
  // before, during and after compactions.
  for (const target of [150, 250, 350]) {
    const child = spawnChild(t, ['send', dir, '4096']);
    await waitFor(() => child.acks().length >= target, 30_000, `${target} acknowledged sends`);
    await child.kill();
    acked.push(...child.acks());
  }
  const app = await open(t, dir);
  assert.ok(app.recovery.snapshotJobs > 0, 'compactions happened');
  const infos = await Promise.all(acked.map((id) => app.get(id)));
  const missing = acked.filter((_, i) => infos[i] === undefined);
  assert.deepEqual(missing, [], `acknowledged jobs lost (of ${acked.length})`);
  await app.start();
  await Promise.all(acked.map(async (id) => (await app.job(id))!.result({ timeout: 30 })));
  for (const id of acked) assert.equal((await app.get(id))!.state, 'succeeded', id);
});

test('jobs running at a SIGKILL run again with attempt + 1 and recovered; finished ones never run again', {
  timeout: LIMIT_MS,
}, async (t) => {
  const tmp = await tempDir(t);
  const dir = join(tmp, 'data');
  const side = join(tmp, 'runs.jsonl');
  const child = spawnChild(t, ['run', dir, side, '4', '2', '3']);
  await child.waitLine((l) => l === 'ready', 30_000, 'ready');
  // Both hung jobs have begun in their workers (and hang there): kill the process now.
  await waitFor(
    async () => {
      const started = (await runs(side)).filter((r) => r.phase === 'start' && r.id.startsWith('hung-'));
      return started.length === 2;
    },
    20_000,
    'both hung jobs to start',
  );
  await child.kill();

  const done = child.lines.filter((l) => l.startsWith('done ')).map((l) => l.slice(5));
  assert.deepEqual(done, ['quick-0', 'quick-1', 'quick-2', 'quick-3']);
  const before = await runs(side);
  const hungBefore = new Map(before.filter((r) => r.id.startsWith('hung-')).map((r) => [r.id, r]));
  assert.equal(hungBefore.size, 2);
  for (const r of hungBefore.values()) {
    assert.equal(r.phase, 'start');
    assert.equal(r.recovered, false);
  }
  assert.ok(!before.some((r) => r.id.startsWith('waiting-')), 'the waiting jobs had not begun');

  const app = await open(t, dir);
  assert.equal(app.recovery.interrupted, 2, 'two jobs were running when the process died');
  for (const id of ['hung-0', 'hung-1']) {
    const info = (await app.get(id))!;
    assert.equal(info.state, 'pending');
    assert.equal(info.recovered, true);
  }
  for (const id of done) assert.equal((await app.get(id))?.state, 'succeeded', id);

  await app.start();
  const all = [...child.acks()];
  assert.equal(all.length, 9);
  await Promise.all(all.map(async (id) => (await app.job(id))!.result({ timeout: 20 })));
  const after = await runs(side);
  const startsOf = (id: string) => after.filter((r) => r.id === id && r.phase === 'start');

  for (const id of done) {
    assert.equal(startsOf(id).length, 1, `${id} finished before the crash and must not run again`);
    assert.equal((await app.get(id))!.result, id);
  }
  for (const id of ['hung-0', 'hung-1']) {
    const starts = startsOf(id);
    assert.equal(starts.length, 2, `${id} runs again after the crash`);
    const first = hungBefore.get(id)!;
    assert.equal(starts[1]!.attempt, first.attempt + 1, `${id}: the interrupted run counts as an attempt`);
    assert.equal(starts[1]!.recovered, true, `${id}: the task sees recovered`);
    const info = (await app.get(id))!;
    assert.equal(info.state, 'succeeded');
    assert.equal(info.attempts, first.attempt + 1);
    assert.equal(info.result, id);
  }
  for (let i = 0; i < 3; i++) {
    const id = `waiting-${i}`;
    const starts = startsOf(id);
    assert.equal(starts.length, 1, `${id} runs once`);
    assert.equal(starts[0]!.attempt, 1);
    assert.equal(starts[0]!.recovered, false, `${id} never ran before: not recovered`);
    assert.equal((await app.get(id))!.state, 'succeeded');
  }
});

test('a torn last record is cut off: the app opens, reports it, keeps every earlier job and takes new ones', {
  timeout: LIMIT_MS,
}, async (t) => {
  const dir = join(await tempDir(t), 'data');
  const app = await open(t, dir);
  await app.start();
  const finished = await Promise.all(Array.from({ length: 5 }, (_, i) => app.send('crash.add', [i, 10], { id: `fin-${i}` })));
  await Promise.all(finished.map((h) => h.result()));
  const eta = new Date(Date.now() + 3_600_000);
  for (let i = 0; i < 3; i++) await app.send('crash.add', [i, 20], { id: `later-${i}`, eta });
  const expectedIds = [...finished.map((h) => h.id), 'later-0', 'later-1', 'later-2'];
  const expected = new Map(await Promise.all(expectedIds.map(async (id) => [id, (await app.get(id))!] as const)));
  await app.close();

  // A crash in the middle of a write: half of a valid record, no newline, written where
  // the next record goes (into the segment's preallocated zeros).
  const journal = await newestJournal(dir);
  const lastLine = journalRecords(await readFile(journal))
    .toString('utf8')
    .slice(0, -1)
    .split('\n')
    .at(-1)!;
  const torn = Buffer.from(lastLine.slice(0, Math.floor(lastLine.length / 2)));
  const sizeBefore = await appendToJournal(journal, torn);

  const app2 = await open(t, dir);
  assert.deepEqual(app2.recovery.truncated, { file: journal, offset: sizeBefore, bytes: torn.length });
  const after = await readFile(journal);
  assert.ok(
    after.length >= sizeBefore && after.subarray(sizeBefore).every((b) => b === 0),
    'the torn bytes are cut off the file (zeros may follow the records again)',
  );
  for (const [id, info] of expected) assert.deepEqual(await app2.get(id), info, `${id} is intact`);

  await app2.start();
  const fresh = await app2.send('crash.add', [40, 2], { id: 'after-tear' });
  assert.equal(await fresh.result({ timeout: 10 }), 42);
  await app2.close();

  const app3 = await open(t, dir);
  assert.equal(app3.recovery.truncated, undefined, 'nothing torn the second time');
  assert.equal((await app3.get('after-tear'))?.state, 'succeeded');
  assert.equal((await app3.get('after-tear'))?.result, 42);
  for (const [id, info] of expected) assert.deepEqual(await app3.get(id), info, `${id} is still intact`);
});

test('a journal segment whose header never landed (crash while compaction created it) is discarded', { timeout: LIMIT_MS }, async (t) => {
  const dir = join(await tempDir(t), 'data');
  const app = await open(t, dir);
  await app.send('crash.add', [1, 2], { id: 'kept' });
  await app.close();
  // A compaction creates the next segment (O_CREAT|O_TRUNC), then writes its header: a
  // kill in between leaves an empty newest segment next to the intact older one.
  const journal = await newestJournal(dir);
  const n = Number(/journal-(\d{8})\.log$/.exec(journal)![1]);
  const empty = join(dir, `journal-${String(n + 1).padStart(8, '0')}.log`);
  await writeFile(empty, '');

  const app2 = await open(t, dir);
  assert.equal((await app2.get('kept'))?.state, 'pending');
  await app2.start();
  assert.equal(await (await app2.job('kept'))!.result({ timeout: 10 }), 3);
  const more = await app2.send('crash.add', [2, 2], { id: 'more' });
  assert.equal(await more.result({ timeout: 10 }), 4);
  await app2.close();

  const app3 = await open(t, dir);
  assert.equal((await app3.get('kept'))?.state, 'succeeded');
  assert.equal((await app3.get('more'))?.state, 'succeeded');

  // The same on a brand-new dir whose very first open was killed that early.
  const fresh = join(await tempDir(t), 'data');
  await mkdir(fresh);
  await writeFile(join(fresh, 'journal-00000001.log'), '');
  const app4 = await open(t, fresh);
  await app4.send('crash.add', [5, 5], { id: 'first' });
  await app4.close();
  const app5 = await open(t, fresh);
  assert.equal((await app5.get('first'))?.state, 'pending');
});

test('damage in the middle of the journal is refused with the file and the byte offset', { timeout: LIMIT_MS }, async (t) => {
  const dir = join(await tempDir(t), 'data');
  const app = await open(t, dir);
  for (let i = 0; i < 20; i++) await app.send('crash.add', [i, i], { id: `job-${i}` });
  await app.close();

  const journal = await newestJournal(dir);
  const buf = await readFile(journal);
  // Line 0 is the header; damage the fourth job record, with valid records after it.
  let offset = 0;
  for (let line = 0; line < 4; line++) offset = buf.indexOf(0x0a, offset) + 1;
  assert.ok(buf.toString('utf8', offset, buf.indexOf(0x0a, offset)).includes('"job-3"'));
  buf[offset + 11] = buf[offset + 11]! ^ 0x20; // `{"o"` → `{"O"`: one flipped bit
  await writeFile(journal, buf);

  const refused = (err: CeleriacError) => {
    assert.equal(err.code, 'CORRUPT_JOURNAL');
    assert.ok(err.message.includes(journal), `the message names the file: ${err.message}`);
    assert.match(err.message, new RegExp(`\\bbyte ${offset}\\b`), 'the message names the byte offset');
    return true;
  };
  await assert.rejects(createCeleriac({ dir, tasks: TASKS, logger: false }), refused);
  assert.deepEqual(await readFile(journal), buf, 'a refused open changes nothing on disk: the valid records after the damage are kept');
  assert.equal(existsSync(join(dir, 'LOCK')), false, 'a refused open releases the lock');
  // Still refused (not DATA_DIR_LOCKED): the same answer every time.
  await assert.rejects(createCeleriac({ dir, tasks: TASKS, logger: false }), refused);
});
