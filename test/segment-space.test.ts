// Journal segments are zeroed ahead of their records (store/segment-space.ts): appends
// overwrite zeros instead of growing the file. Pinned here: the zeros are there and are
// used, they are never read as damage or a torn write (newest segment or older), appends
// that outrun the zeroing lose nothing, and zeros followed by a record are refused.
import { strict as assert } from 'node:assert';
import { existsSync } from 'node:fs';
import { open as openFile, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { repairDataDir } from '../src/admin.js';
import type { CeleriacError } from '../src/index.js';
import type { JobEvent } from '../src/jobs.js';
import { encodeEvent, frame, FORMAT_VERSION } from '../src/store/codec.js';
import { FileStore } from '../src/store/file-store.js';
import { loadState, segmentName } from '../src/store/load.js';
import { scanLines } from '../src/store/scan.js';
import { SegmentSpace, ZERO_LEAD, zeroChunkBytes } from '../src/store/segment-space.js';
import { addEvent as add, appendToJournal, tempDir } from './helpers.js';

const open = (dir: string, compactAfterBytes = 1 << 20) => FileStore.open({ dir, resultTtlMs: 86_400_000, compactAfterBytes });

async function segmentScan(dir: string, n = 1) {
  const path = join(dir, segmentName(n));
  const buf = await readFile(path);
  return { path, buf, scan: scanLines(buf, { zeroTail: true }) };
}

/** A closed data dir holding job-0 … job-(n-1), one commit each, and its first segment as scanned. */
async function dirWith(t: TestContext, n: number) {
  const dir = join(await tempDir(t), 'data');
  const store = await open(dir);
  for (let i = 0; i < n; i++) await store.commit([add(i)]);
  await store.close();
  return { dir, ...(await segmentScan(dir)) };
}

test('a segment is zeroed ahead of its records; a reopen writes into the zeros instead of growing the file', async (t) => {
  const first = await dirWith(t, 10);
  const dir = first.dir;
  assert.equal(first.scan.tornTail, undefined);
  assert.equal(first.scan.starts.length, 11, 'header and 10 adds');
  const header = first.scan.ends[0]! + 1;
  assert.equal(
    first.buf.length,
    header + ZERO_LEAD + zeroChunkBytes(1 << 20),
    'one chunk of zeros was written after the header and the space left to the first appends',
  );
  assert.equal(first.scan.unused, first.buf.length - first.scan.validBytes, 'everything after the records is zeros');

  const s2 = await open(dir);
  assert.equal(s2.report.truncated, undefined, 'the zeros are not a torn tail');
  assert.equal(s2.jobs.size, 10);
  for (let i = 10; i < 20; i++) await s2.commit([add(i)]);
  await s2.close();

  const second = await segmentScan(dir);
  assert.equal(second.buf.length, first.buf.length, 'the new records went into the zeros: the file did not grow');
  assert.equal(second.scan.starts.length, 21);
  assert.equal(second.scan.unused, first.scan.unused! - (second.scan.validBytes - first.scan.validBytes));
  const s3 = await open(dir);
  assert.deepEqual(
    [...s3.jobs.keys()],
    Array.from({ length: 20 }, (_, i) => `job-${i}`),
  );
  await s3.close();
});

test('the writes right after a zeroing starts (a fresh segment’s first sends) do not wait for it; a write past its start does', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'segment');
  await writeFile(path, 'header\n');
  const chunk = zeroChunkBytes(64 << 20);
  const space = new SegmentSpace(path, 7, chunk);
  space.afterWrite(7);
  assert.equal(space.beforeWrite(7 + 300), undefined, 'a send right after the open goes on');
  assert.equal(space.beforeWrite(7 + ZERO_LEAD), undefined, 'up to where the zeroing starts');
  const waitFor = space.beforeWrite(7 + ZERO_LEAD + 1);
  assert.ok(waitFor instanceof Promise, 'a write reaching into the bytes being zeroed waits');
  await waitFor;
  await space.settle();
  assert.equal((await stat(path)).size, 7 + ZERO_LEAD + chunk);
  assert.equal(space.beforeWrite(7 + ZERO_LEAD + chunk + 1), undefined, 'no zeroing in progress: nothing to wait for');
});

test('appends that outrun the zeroing keep every record, in order', async (t) => {
  const dir = join(await tempDir(t), 'data');
  // 1 MiB chunks, compaction only past 4 MiB: ~2.8 MB of records cross the end of the
  // zeros twice, in flushes of up to ~850 KB (three commits of 1,500 records in flight),
  // so a flush reaches past the zeros while the next chunk is being written.
  const compactAfterBytes = 4 * 1024 * 1024;
  assert.equal(zeroChunkBytes(compactAfterBytes), 1024 * 1024);
  const store = await open(dir, compactAfterBytes);
  const N = 15_000;
  let pending: Promise<void>[] = [];
  for (let i = 0; i < N; i += 1500) {
    pending.push(store.commit(Array.from({ length: 1500 }, (_, k) => add(i + k))));
    if (pending.length === 3) {
      await Promise.all(pending);
      pending = [];
    }
  }
  await Promise.all(pending);
  await store.close();

  const { buf, scan } = await segmentScan(dir);
  assert.equal(scan.tornTail, undefined);
  assert.equal(scan.corruptAt, undefined);
  assert.equal(scan.starts.length, N + 1, 'every record is intact where it was written');
  assert.ok(buf.length > scan.validBytes, 'zeros still follow the records');
  const again = await open(dir);
  assert.deepEqual(
    [...again.jobs.keys()],
    Array.from({ length: N }, (_, i) => `job-${i}`),
  );
  for (let i = 0; i < N; i += 997) assert.equal(again.jobs.get(`job-${i}`)?.args, (add(i) as Extract<JobEvent, { type: 'add' }>).job.args);
  await again.close();
});

test('zeros followed by a record (an earlier page of the last write never landed) are refused, not guessed', async (t) => {
  const { dir, path, scan } = await dirWith(t, 3);
  // A later page of the write landed: records after 4 KiB of zeros. The first one shares
  // its line with the zeros; the second is a whole valid line after the hole.
  const landed = frame(encodeEvent(add(9)));
  const fh = await openFile(path, 'r+');
  await fh.write(landed + frame(encodeEvent(add(10))), scan.validBytes + 4096);
  await fh.close();

  await assert.rejects(open(dir), (err: CeleriacError) => {
    assert.equal(err.code, 'CORRUPT_JOURNAL');
    assert.ok(err.message.includes(path) && err.message.includes(`byte ${scan.validBytes}`), err.message);
    return true;
  });
  const report = await repairDataDir(dir);
  assert.deepEqual(
    report.files.find((f) => f.file === path)?.damaged,
    [{ offset: scan.validBytes, bytes: 4096 + landed.length }],
    'the hole and the line it cut are the damage; the zeros after the records are not',
  );
  const s2 = await open(dir);
  assert.deepEqual([...s2.jobs.keys()].sort(), ['job-0', 'job-1', 'job-10', 'job-2'], 'repair keeps every intact line');
  await s2.close();
});

test('an older segment that ends in zeros (a crash after a compaction switched segments) opens clean; repair finds nothing to do', async (t) => {
  const older = await dirWith(t, 4);
  const dir = older.dir;
  assert.ok(older.scan.unused! > 0);
  // What the switch leaves: the next segment with its header and the records after it.
  const header = frame(`{"o":"h","k":"journal","v":${FORMAT_VERSION},"g":2}`);
  await writeFile(
    join(dir, segmentName(2)),
    header + frame(encodeEvent(add(4))) + frame(encodeEvent({ type: 'cancel', id: 'job-0', at: Date.now() })),
  );

  const s2 = await open(dir);
  assert.equal(s2.report.truncated, undefined);
  assert.deepEqual([...s2.jobs.keys()].sort(), ['job-0', 'job-1', 'job-2', 'job-3', 'job-4']);
  assert.equal(s2.jobs.get('job-0')?.state, 'cancelled', 'the newer segment was replayed after the older one');
  await s2.close();
  assert.equal((await stat(join(dir, segmentName(1)))).size, older.buf.length, 'the older segment was left as it was');

  const report = await repairDataDir(dir);
  assert.equal(report.clean, true, JSON.stringify(report.files));
});

test('a kill during a flush while a compaction had created its next segment: the torn tail is cut and the unused segment dropped; records after the tear refuse', async (t) => {
  const build = async (nextHolds: JobEvent[]) => {
    const { dir, path, scan } = await dirWith(t, 5);
    // The flush in progress at the kill: half of its record landed in segment 1.
    const torn = Buffer.from(frame(encodeEvent(add(5))).slice(0, 40));
    await appendToJournal(path, torn);
    // The compaction's next segment: its header, zeros, and (if any) records.
    const header = frame(`{"o":"h","k":"journal","v":${FORMAT_VERSION},"g":2}`);
    await writeFile(
      join(dir, segmentName(2)),
      Buffer.concat([Buffer.from(header + nextHolds.map((ev) => frame(encodeEvent(ev))).join('')), Buffer.alloc(4096)]),
    );
    return { dir, path, valid: scan.validBytes, torn };
  };

  const unused = await build([]);
  const read = await loadState(unused.dir, { readOnly: true });
  assert.equal(read.jobs.size, 5, 'a reader takes the tear for a write in progress');
  const s2 = await open(unused.dir);
  assert.deepEqual(s2.report.truncated, { file: unused.path, offset: unused.valid, bytes: unused.torn.length });
  assert.deepEqual([...s2.jobs.keys()], ['job-0', 'job-1', 'job-2', 'job-3', 'job-4']);
  assert.ok(!existsSync(join(unused.dir, segmentName(2))), 'the unused segment is gone');
  await s2.commit([add(6)]);
  await s2.close();
  const s3 = await open(unused.dir);
  assert.equal(s3.report.truncated, undefined, 'cut once');
  assert.deepEqual([...s3.jobs.keys()], ['job-0', 'job-1', 'job-2', 'job-3', 'job-4', 'job-6']);
  await s3.close();

  const written = await build([add(7)]);
  await assert.rejects(open(written.dir), (err: CeleriacError) => {
    assert.equal(err.code, 'CORRUPT_JOURNAL');
    assert.ok(
      err.message.includes(`${written.path} is cut short at byte ${written.valid}`) && err.message.includes(segmentName(2)),
      err.message,
    );
    return true;
  });
  assert.ok(existsSync(join(written.dir, segmentName(2))), 'a refused open deletes nothing');
  await assert.rejects(
    loadState(written.dir, { readOnly: true }),
    (err: CeleriacError) => err.code === 'CORRUPT_JOURNAL',
    'a reader refuses too once the tear is still there on a second look',
  );
});
