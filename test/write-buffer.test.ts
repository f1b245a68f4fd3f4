// The journal frames every flush into one buffer it reuses (a fresh one per batch left
// holes in the C heap that RSS kept): it grows to hold a batch, up to 4 MiB; a batch larger
// than that is framed in a buffer of its own, and the kept one stays as it was. Whatever
// buffer a batch went through, every record reads back as sent after a reopen.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import test from 'node:test';
import type { NewJob } from '../src/jobs.js';
import { FileStore } from '../src/store/file-store.js';
import { tempDir } from './helpers.js';

const MIB = 1024 * 1024;

/** A job whose args are about `bytes` long, their text telling the job apart. */
const job = (id: string, bytes: number): NewJob => ({
  id,
  task: 't',
  args: JSON.stringify([id, 'x'.repeat(bytes)]),
  createdAt: 1,
  runAt: 0,
  expiresAt: 0,
  priority: 0,
});

const batch = (prefix: string, n: number, bytes: number) => Array.from({ length: n }, (_, i) => job(`${prefix}-${i}`, bytes));

test('the write buffer grows to hold a batch, never past 4 MiB, and is reused; every record reads back as sent', async (t) => {
  const dir = join(await tempDir(t), 'data');
  const open = () => FileStore.open({ dir, resultTtlMs: 86_400_000, compactAfterBytes: 1 << 30 });
  const store = await open();
  const buffer = () => (store as unknown as { writeBuffer: Buffer }).writeBuffer;
  const sent: NewJob[] = [];
  const commit = async (jobs: NewJob[]) => {
    sent.push(...jobs);
    await store.commit(jobs.map((j) => ({ type: 'add' as const, job: j })));
  };

  await commit(batch('small', 1, 100));
  assert.equal(buffer().length, 64 * 1024, 'a fresh store frames into 64 KiB');

  await commit(batch('mid', 100, 2_000)); // about 210 KB of lines
  const grown = buffer();
  assert.ok(grown.length >= 200_000 && grown.length <= 4 * MIB, `grown to hold the batch: ${grown.length} B`);

  await commit(batch('big', 100, 60_000)); // about 6 MB of lines: framed on its own
  assert.equal(buffer(), grown, 'a batch past 4 MiB leaves the kept buffer as it was');

  await commit(batch('after', 50, 2_000));
  assert.equal(buffer(), grown, 'the next batch that fits is framed into the same buffer');

  await commit(batch('near', 64, 64_000)); // about 3.9 MiB of lines: still under the cap, so kept
  const capped = buffer();
  assert.ok(capped.length >= 3.9 * MIB && capped.length <= 4 * MIB, `grown to hold a batch just under 4 MiB: ${capped.length} B`);

  await commit(batch('over', 69, 64_000)); // about 4.2 MiB: just past the cap, framed on its own
  assert.equal(buffer(), capped, 'a batch just past 4 MiB leaves the 4 MiB buffer as it was');
  await store.close();

  const reopened = await open();
  t.after(() => reopened.close());
  assert.equal(reopened.jobs.size, sent.length);
  for (const j of sent) assert.equal(reopened.jobs.get(j.id)?.args, j.args, `${j.id}'s args as sent`);
});
