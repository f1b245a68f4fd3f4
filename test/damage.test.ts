// Journal and snapshot damage: torn tails at every byte, flipped bytes, garbage, missing
// and half-written snapshots, newer formats, and a fuzzed decoder. The rule: tail damage
// keeps the valid prefix and says where it cut; damage in the middle refuses to open with
// the file and offset; repair keeps every intact record; never a crash, never an invented
// or silently dropped job.
import { strict as assert } from 'node:assert';
import { cp, readdir, readFile, stat, truncate, writeFile, appendFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { repairDataDir } from '../src/admin.js';
import { CeleriacError } from '../src/index.js';
import { decodeEvent, frame } from '../src/store/codec.js';
import { FileStore } from '../src/store/file-store.js';
import { loadState } from '../src/store/load.js';
import { scanLines } from '../src/store/scan.js';
import { addEvent as add, appendToJournal, scanRecords, tempDir } from './helpers.js';

const open = (dir: string, extra = {}) => FileStore.open({ dir, resultTtlMs: 86_400_000, compactAfterBytes: 1 << 30, ...extra });

/** A closed data dir with n adds and job-0 finished; `valid`: the segment's bytes up to its preallocated zeros. */
async function journalWith(t: Parameters<typeof tempDir>[0], n: number): Promise<{ dir: string; segment: string; valid: number }> {
  const dir = join(await tempDir(t), 'data');
  const store = await open(dir);
  for (let i = 0; i < n; i++) await store.commit([add(i)]);
  await store.commit([{ type: 'start', id: 'job-0', at: Date.now() }]);
  await store.commit([{ type: 'succeed', id: 'job-0', at: Date.now(), result: '"done"' }]);
  await store.close();
  const segment = join(dir, (await readdir(dir)).find((f) => f.startsWith('journal-'))!);
  const buf = await readFile(segment);
  const scan = scanLines(buf, { zeroTail: true });
  assert.equal(scan.tornTail, undefined);
  assert.ok(scan.unused! > 0 && buf.length === scan.validBytes + scan.unused!, 'the segment ends in preallocated zeros');
  return { dir, segment, valid: scan.validBytes };
}

const isCorrupt = (err: unknown) => err instanceof CeleriacError && (err.code === 'CORRUPT_JOURNAL' || err.code === 'UNSUPPORTED_FORMAT');

test('a cut at every byte offset of the last records keeps the valid prefix and reports the cut', async (t) => {
  const { dir, segment, valid } = await journalWith(t, 6);
  const full = await readFile(segment);
  const offsets = scanRecords(full).offsets;
  const from = offsets[offsets.length - 4]!; // the last four records: two adds, start, succeed
  const work = join(await tempDir(t), 'cut');
  // Cuts inside the records, at their end, and a little into the zeros after them.
  for (let cut = from; cut <= valid + 16; cut++) {
    await cp(dir, work, { recursive: true, force: true });
    const file = join(work, segment.slice(segment.lastIndexOf('/') + 1));
    await truncate(file, cut);
    const store = await open(work);
    try {
      const whole = offsets.filter((o, i) => (offsets[i + 1] ?? valid) <= cut).length;
      const onDisk = scanRecords(full.subarray(0, cut)).records.length;
      assert.equal(onDisk, whole, `cut at ${cut}`);
      for (const id of store.jobs.keys()) assert.match(id, /^job-[0-5]$/, 'no invented job');
      const expectedAdds = Math.min(6, whole - 1); // records: header, 6 adds, start, succeed
      for (let i = 0; i < expectedAdds; i++) assert.ok(store.jobs.has(`job-${i}`), `job-${i} kept at cut ${cut}`);
      const torn = cut < valid && !offsets.includes(cut);
      assert.equal(store.report.truncated !== undefined, torn, `cut at ${cut} reported iff mid-record`);
      if (torn) assert.equal(store.report.truncated!.offset, offsets.filter((o) => o < cut).at(-1));
      // New records after the cut land after the valid prefix and survive a reopen.
      await store.commit([add(100)]);
    } finally {
      await store.close();
    }
    const again = await open(work);
    assert.ok(again.jobs.has('job-100'));
    assert.equal(again.report.truncated, undefined, 'the cut was repaired on the first open');
    await again.close();
  }
});

test('garbage after the last record is a torn tail: cut and reported, written into the zeros or past them', async (t) => {
  const garbage = Buffer.from([7, 1, 2, 255, 10, 65, 66, 10, 0xde, 0xad]);
  // A write torn in the preallocated zeros: its bytes, then zeros.
  const into = await journalWith(t, 3);
  assert.equal(await appendToJournal(into.segment, garbage), into.valid);
  const s1 = await open(into.dir);
  assert.deepEqual(s1.report.truncated, { file: into.segment, offset: into.valid, bytes: 10 }, 'the zeros after it are not counted');
  assert.equal(s1.jobs.size, 3);
  await s1.commit([add(50)]);
  await s1.close();
  const s1again = await open(into.dir);
  assert.equal(s1again.report.truncated, undefined, 'cut once');
  assert.ok(s1again.jobs.has('job-50'), 'a record written after the cut is read back');
  await s1again.close();

  // Zeros, then garbage (the first page of a write never landed, a later one did).
  const past = await journalWith(t, 3);
  const size = (await stat(past.segment)).size;
  await appendFile(past.segment, garbage);
  const s2 = await open(past.dir);
  assert.deepEqual(s2.report.truncated, { file: past.segment, offset: past.valid, bytes: size - past.valid + 10 });
  assert.equal(s2.jobs.size, 3);
  await s2.close();
});

test('a flipped byte in the middle refuses to open (file and offset); repair salvages every intact record', async (t) => {
  const { dir, segment } = await journalWith(t, 8);
  const buf = await readFile(segment);
  const offsets = scanRecords(buf).offsets;
  const victim = offsets[3]!; // the add of job-2
  buf[victim + 20] = buf[victim + 20]! ^ 0x20;
  await writeFile(segment, buf);
  await assert.rejects(open(dir), (err: CeleriacError) => {
    assert.equal(err.code, 'CORRUPT_JOURNAL');
    assert.ok(err.message.includes(segment), err.message);
    assert.ok(err.message.includes(`byte ${victim}`), err.message);
    return true;
  });
  await assert.rejects(loadState(dir, { readOnly: true }), isCorrupt, 'readers refuse too');
  const report = await repairDataDir(dir);
  assert.equal(report.clean, false);
  const seg = report.files.find((f) => f.file === segment)!;
  assert.deepEqual(seg.damaged, [{ offset: victim, bytes: offsets[4]! - victim }]);
  assert.equal(report.movedAside.length, 1);
  assert.deepEqual(await readFile(report.movedAside[0]!), buf, 'the damaged file is kept, byte for byte');
  const store = await open(dir);
  assert.deepEqual(
    [...store.jobs.keys()].sort(),
    ['job-0', 'job-1', 'job-3', 'job-4', 'job-5', 'job-6', 'job-7'],
    'all but the damaged record',
  );
  assert.equal(store.jobs.get('job-0')?.state, 'succeeded');
  await store.close();
  assert.equal((await repairDataDir(dir)).clean, true, 'a second repair finds nothing');
});

test('snapshots: missing, half-written, damaged, or from a newer version', async (t) => {
  const dir = join(await tempDir(t), 'data');
  const store = await open(dir);
  for (let i = 0; i < 5; i++) await store.commit([add(i)]);
  await store.compact();
  await store.commit([add(5)]);
  await store.close();
  const files = await readdir(dir);
  assert.ok(files.includes('snapshot.db'));
  assert.ok(!files.includes('journal-00000001.log'), 'the compacted segment is gone');

  const work = join(await tempDir(t), 'w');
  const fresh = async () => cp(dir, work, { recursive: true, force: true });

  await fresh();
  await writeFile(join(work, 'snapshot.db.tmp'), 'half a snapsh');
  const s1 = await open(work);
  assert.equal(s1.jobs.size, 6, 'a leftover temp snapshot is ignored');
  await s1.close();
  assert.ok(!(await readdir(work)).includes('snapshot.db.tmp'), 'and removed');

  await fresh();
  await unlink(join(work, 'snapshot.db'));
  await assert.rejects(open(work), (err: CeleriacError) => err.code === 'CORRUPT_JOURNAL' && /snapshot\.db is missing/.test(err.message));

  await fresh();
  const snap = await readFile(join(work, 'snapshot.db'));
  await writeFile(join(work, 'snapshot.db'), snap.subarray(0, snap.length - 30));
  await assert.rejects(open(work), (err: CeleriacError) => err.code === 'CORRUPT_JOURNAL' && err.message.includes('snapshot.db'));

  await fresh();
  const lines = snap.toString().split('\n');
  lines[0] = frame(lines[0]!.slice(9).replace('"v":1', '"v":99')).trimEnd();
  await writeFile(join(work, 'snapshot.db'), lines.join('\n'));
  await assert.rejects(open(work), (err: CeleriacError) => err.code === 'UNSUPPORTED_FORMAT' && /upgrade celeriac/.test(err.message));
  await assert.rejects(
    repairDataDir(work),
    (err: CeleriacError) => err.code === 'UNSUPPORTED_FORMAT',
    'repair does not rewrite a newer format',
  );
});

test('fuzz: damaged journals never crash the loader and never invent jobs', async (t) => {
  const { dir, segment, valid } = await journalWith(t, 12);
  const original = await readFile(segment);
  const work = join(await tempDir(t), 'fuzz');
  let seed = 12345;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const outcomes = { opened: 0, refused: 0 };
  for (let round = 0; round < 150; round++) {
    const buf = Buffer.from(original);
    const kind = rand(4);
    const at = rand(valid + 256); // the records, and the start of the zeros after them
    if (kind === 0) buf[at] = rand(256);
    else if (kind === 1) buf.fill(0, at, Math.min(buf.length, at + 1 + rand(64)));
    else if (kind === 2)
      buf[at] = 10; // a newline in the middle of a record
    else buf.copy(buf, at, rand(valid), valid); // a shifted block
    await cp(dir, work, { recursive: true, force: true });
    await writeFile(join(work, segment.slice(segment.lastIndexOf('/') + 1)), buf);
    try {
      const state = await loadState(work, { readOnly: true });
      outcomes.opened++;
      for (const [id, job] of state.jobs) {
        assert.match(id, /^job-(\d|1[01])$/, 'no invented job');
        const i = Number(id.slice(4));
        assert.equal(job.args, add(i).type === 'add' ? (add(i) as { job: { args: string } }).job.args : '', 'args intact');
      }
    } catch (err) {
      assert.ok(isCorrupt(err), `round ${round}: unexpected ${(err as Error).stack}`);
      outcomes.refused++;
    }
  }
  t.diagnostic(`fuzz: ${outcomes.opened} opened, ${outcomes.refused} refused with CORRUPT_JOURNAL`);
  assert.ok(outcomes.opened > 0 && outcomes.refused > 0);
});

test('fuzz: the record decoder rejects any shape it does not know, never returns half an event', async () => {
  const { encodeEvent, encodeJob } = await import('../src/store/codec.js');
  const { newRecord } = await import('../src/jobs.js');
  let seed = 99;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const error = { name: 'E', message: 'm' };
  const valid: string[] = [
    encodeEvent(add(1)),
    encodeEvent({ type: 'start', id: 'j', at: 5 }),
    encodeEvent({ type: 'succeed', id: 'j', at: 5, result: '{"a":1}' }),
    encodeEvent({ type: 'fail', id: 'j', at: 5, error }),
    encodeEvent({ type: 'retry', id: 'j', at: 5, runAt: 9, error, args: '[2]' }),
    encodeEvent({ type: 'cancel', id: 'j', at: 5 }),
    encodeEvent({ type: 'requeue', id: 'j', at: 5, revert: true }),
    encodeJob({ ...newRecord((add(2) as { job: Parameters<typeof newRecord>[0] }).job), state: 'failed', error }),
  ];
  const values = [null, 1, -1, 'x', '', [], {}, [1], error, true, 1e308, { name: 1 }];
  let decoded = 0;
  let refused = 0;
  for (let i = 0; i < 5000; i++) {
    const rec = JSON.parse(valid[rand(valid.length)]!) as Record<string, unknown>;
    const keys = Object.keys(rec);
    const key = rand(3) === 0 ? ['i', 'n', 't', 'a', 'e', 'r', 's', 'k', 'zz'][rand(9)]! : keys[rand(keys.length)]!;
    if (rand(2) === 0) delete rec[key];
    else rec[key] = values[rand(values.length)];
    let ev: ReturnType<typeof decodeEvent>;
    try {
      ev = decodeEvent(JSON.stringify(rec));
    } catch (err) {
      assert.ok(err instanceof Error);
      refused++;
      continue;
    }
    decoded++;
    if (ev.type === 'header') continue;
    if (ev.type === 'mark') {
      assert.deepEqual([typeof ev.key, typeof ev.value], ['string', 'string'], `decoded ${JSON.stringify(rec)} into a mark without text`);
      continue;
    }
    const id = ev.type === 'add' ? ev.job.id : ev.type === 'job' ? ev.job.id : ev.id;
    assert.equal(typeof id, 'string', `decoded ${JSON.stringify(rec)} without an id`);
    if (ev.type === 'add' || ev.type === 'job') {
      assert.ok(Array.isArray(JSON.parse(ev.job.args as string)), 'args always an array');
      assert.equal(typeof ev.job.task, 'string');
      assert.ok(Number.isFinite(ev.job.createdAt));
    }
    if (ev.type === 'fail' || ev.type === 'retry') assert.equal(typeof ev.error.message, 'string');
  }
  assert.ok(decoded > 0 && refused > 0, `decoded ${decoded}, refused ${refused}`);
});
