// No write celeriac makes in its data dir goes through a symlink someone planted there:
// the snapshot's temporary file, a rejected message's reason and the journal's zeroing
// each leave the file the link points at untouched. (The planter here is the test itself;
// in the attack it is a user who can write in the dir, and the writer runs as root.)
import { strict as assert } from 'node:assert';
import { lstat, mkdir, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { createClient } from '../src/index.js';
import { submitToInbox } from '../src/inbox.js';
import { repairDataDir } from '../src/store/repair.js';
import { appendToJournal, openApp, tempDir, waitFor } from './helpers.js';

const PRECIOUS = 'precious: must never be overwritten\n';

async function victim(root: string): Promise<string> {
  const file = join(root, 'victim.txt');
  await writeFile(file, PRECIOUS);
  return file;
}

test("the snapshot's temporary file is created afresh, never written through a planted link", { timeout: 60_000 }, async (t) => {
  const root = await tempDir(t);
  const dir = join(root, 'data');
  const target = await victim(root);
  const app = await openApp(t, { dir, compactAfterBytes: 1 });
  await symlink(target, join(dir, 'snapshot.db.tmp'));
  await app.send('demo.echo', ['x']); // every append is over compactAfterBytes: a compaction follows
  await waitFor(async () => (await lstat(join(dir, 'snapshot.db')).catch(() => undefined))?.isFile(), 20_000, 'a snapshot');
  await app.close();
  assert.equal(await readFile(target, 'utf8'), PRECIOUS, 'the linked file is untouched');
  assert.ok((await lstat(join(dir, 'snapshot.db'))).isFile(), 'the snapshot is a file of its own, not the link');
});

test("a rejected message's reason is created afresh, never written through a planted link", { timeout: 60_000 }, async (t) => {
  const root = await tempDir(t);
  const dir = join(root, 'data');
  const target = await victim(root);
  const client = await createClient({ dir });
  const bad = await client.send('no.such.task', [], { id: 'bad-1' });
  const base = bad.inboxFile!.slice(bad.inboxFile!.lastIndexOf('/') + 1);
  await mkdir(join(dir, 'inbox-rejected'), { mode: 0o700 });
  await symlink(target, join(dir, 'inbox-rejected', `${base}.reason.txt`));
  await openApp(t, { dir }); // applies the inbox: the message is rejected
  assert.equal(await readFile(target, 'utf8'), PRECIOUS, 'the linked file is untouched');
  const reason = join(dir, 'inbox-rejected', `${base}.reason.txt`);
  assert.ok((await lstat(reason)).isFile(), 'the reason is a file of its own');
  assert.match(await readFile(reason, 'utf8'), /unknown task "no.such.task"/);
});

test('a rejected-messages dir replaced by a link is refused, not written into', { timeout: 60_000 }, async (t) => {
  const root = await tempDir(t);
  const dir = join(root, 'data');
  const elsewhere = join(root, 'elsewhere');
  await mkdir(elsewhere);
  const client = await createClient({ dir });
  await client.send('no.such.task', [], { id: 'bad-1' });
  await symlink(elsewhere, join(dir, 'inbox-rejected'));
  await openApp(t, { dir }).catch(() => undefined);
  assert.deepEqual(await readdir(elsewhere), [], 'nothing was moved or written through the link');
});

test('segment zeroing never writes through a link that replaced the segment', { timeout: 60_000 }, async (t) => {
  const root = await tempDir(t);
  const dir = join(root, 'data');
  const target = await victim(root);
  // 64 KiB: zeroed 16 KiB at a time, a new chunk once less than 8 KiB is left.
  const app = await openApp(t, { dir, compactAfterBytes: 64 * 1024 });
  const segment = join(dir, (await readdir(dir)).find((f) => f.startsWith('journal-'))!);
  await rm(segment);
  await symlink(target, segment);
  for (let i = 0; i < 100; i++) await app.send('demo.echo', ['y'.repeat(300)]); // ~40 KB of records
  await app.close(); // waits for any zeroing in progress
  assert.equal(await readFile(target, 'utf8'), PRECIOUS, 'the linked file is untouched');
});

test('repair copies damaged files into a fresh dir of its own, and reads no link', { timeout: 60_000 }, async (t) => {
  const root = await tempDir(t);
  const dir = join(root, 'data');
  const target = await victim(root);
  const app = await openApp(t, { dir });
  await app.send('demo.echo', ['z'], { id: 'kept' });
  await app.close();
  const segment = join(dir, (await readdir(dir)).find((f) => f.startsWith('journal-'))!);
  await appendToJournal(segment, 'garbage that is not a record\n{"o":"a"}\n');
  await symlink(target, join(dir, 'snapshot.db'));
  await assert.rejects(repairDataDir(dir), /ELOOP|symbolic link/, 'a snapshot that is a link is refused');
  await rm(join(dir, 'snapshot.db'));
  const report = await repairDataDir(dir);
  assert.equal(report.clean, false);
  assert.equal(await readFile(target, 'utf8'), PRECIOUS);
});

test('a running owner that meets a planted link in place of inbox-rejected/ logs it and goes on', { timeout: 60_000 }, async (t) => {
  const root = await tempDir(t);
  const dir = join(root, 'data');
  const elsewhere = join(root, 'elsewhere');
  await mkdir(elsewhere);
  const errors: string[] = [];
  const app = await openApp(t, { dir, logger: { info: () => undefined, warn: () => undefined, error: (m: string) => errors.push(m) } });
  await app.start();
  await symlink(elsewhere, join(dir, 'inbox-rejected'));
  // Straight into the inbox: a client would reach the running owner over its socket instead.
  await submitToInbox(dir, {
    v: 1,
    kind: 'send',
    jobs: [{ id: 'unknown-task', task: 'no.such.task', args: '[]', createdAt: Date.now(), runAt: 0, expiresAt: 0, priority: 0 }],
  });
  await waitFor(() => errors.some((m) => /inbox not read: .*inbox-rejected is a symbolic link/.test(m)), 20_000, 'the error to be logged');
  assert.deepEqual(await readdir(elsewhere), [], 'nothing was moved or written through the link');
  assert.equal(await (await app.send('math.add', [2, 2])).result({ timeout: 10 }), 4, 'the app goes on');
});
