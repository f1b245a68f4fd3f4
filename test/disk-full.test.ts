// A full disk: send() rejects with an error that says so, the app keeps running, nothing
// on disk is corrupted, and sends succeed again once space is freed. Needs a small tmpfs
// (root); skipped with the reason where it cannot be mounted.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { type CeleriacError, createCeleriac } from '../src/index.js';
import { scanLines } from '../src/store/scan.js';
import { fixture } from './helpers.js';

async function smallDisk(t: TestContext, kib: number): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const mnt = await mkdtemp(join(tmpdir(), 'celeriac-full-'));
  const res = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${kib}k,mode=0700`, 'tmpfs', mnt], { encoding: 'utf8' });
  // One hook, in this order: the mount point can only be removed once unmounted.
  t.after(async () => {
    if (res.status === 0) spawnSync('umount', ['-l', mnt]);
    await rm(mnt, { recursive: true, force: true });
  });
  return res.status === 0 ? mnt : undefined;
}

test('disk full: send rejects clearly, the app goes on, nothing is corrupted, space freed → sends work again', async (t) => {
  const mnt = await smallDisk(t, 256);
  if (!mnt) {
    t.skip('needs root and a tmpfs mount (mount -t tmpfs) to make a small disk; not available here');
    return;
  }
  const dir = join(mnt, 'data');
  const app = await createCeleriac({ dir, tasks: [fixture('basic')], logger: false, concurrency: 1 });
  let closed = false;
  t.after(() => (closed ? undefined : app.close({ timeout: 1 })));
  await app.start();
  // Fill most of the disk with a file we can delete later.
  const filler = join(mnt, 'filler');
  await writeFile(filler, Buffer.alloc(200 * 1024, 1)).catch(() => undefined);
  const acked: string[] = [];
  let full: CeleriacError | undefined;
  for (let i = 0; i < 5000 && !full; i++) {
    try {
      const h = await app.send('demo.echo', [`message ${i} ${'p'.repeat(200)}`]);
      acked.push(h.id);
    } catch (err) {
      full = err as CeleriacError;
    }
  }
  assert.ok(full, 'the disk filled up');
  assert.equal(full.code, 'DISK_FULL', full.message);
  assert.match(full.message, /disk is full/);
  assert.match(full.message, /free some space/);
  assert.ok(acked.length > 0);
  // The app still answers, and every acknowledged job is on record.
  for (const id of acked) assert.ok(await app.get(id), `acknowledged ${id} is on record`);
  // Free space: sends work again.
  await unlink(filler);
  const after = await app.send('demo.echo', ['after the disk was freed']);
  assert.equal(await after.result({ timeout: 20 }), 'after the disk was freed');
  await app.close();
  closed = true;
  // On a nearly full disk the journal is not zeroed ahead (store/segment-space.ts): the
  // zeros would have taken the space the sends needed.
  const journal = (await readdir(dir)).find((f) => f.startsWith('journal-'))!;
  const scan = scanLines(await readFile(join(dir, journal)), { zeroTail: true });
  assert.equal(scan.unused, undefined, `${journal} holds only records`);
  // Nothing on disk is corrupted: a reopen replays cleanly and finds every acknowledged job.
  const again = await createCeleriac({ dir, tasks: [fixture('basic')], logger: false });
  t.after(() => again.close());
  assert.equal(again.recovery.truncated, undefined, 'no torn record was left behind');
  for (const id of [...acked, after.id]) assert.ok(await again.get(id), `${id} survived`);
});
