// Marks: small durable values by key beside the jobs (a periodic schedule's last slot).
// Written before the promise resolves, read back after a restart, kept through a
// compaction (in the snapshot's header) and through a repair.
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import type { Backend } from '../src/backend/types.js';
import type { Celeriac } from '../src/index.js';
import { FileStore } from '../src/store/file-store.js';
import { repairDataDir } from '../src/store/repair.js';
import { openApp, tempDir } from './helpers.js';

const backendOf = (app: Celeriac) => (app as unknown as { backend: Backend }).backend;
const openStore = (dir: string) => FileStore.open({ dir, resultTtlMs: 86_400_000, compactAfterBytes: 1 << 30 });

test('a mark written through the backend is read back after a restart; a later write wins', async (t) => {
  const dir = join(await tempDir(t), 'data');
  const app = await openApp(t, { dir });
  const backend = backendOf(app);
  assert.equal(await backend.readMark('schedule:nightly'), undefined, 'no mark before the first write');
  await backend.writeMark('schedule:nightly', '2026-11-29T00:00:00.000Z');
  await backend.writeMark('schedule:nightly', '2026-11-30T00:00:00.000Z');
  await backend.writeMark('other "quoted" key ✓', '{"n":1}');
  assert.equal(await backend.readMark('schedule:nightly'), '2026-11-30T00:00:00.000Z');
  await app.close();

  const again = backendOf(await openApp(t, { dir }));
  assert.equal(await again.readMark('schedule:nightly'), '2026-11-30T00:00:00.000Z', 'the last write, from the journal');
  assert.equal(await again.readMark('other "quoted" key ✓'), '{"n":1}');
  assert.equal(await again.readMark('never-written'), undefined);
});

test('marks survive a compaction: the snapshot header holds them, the journal over it wins', async (t) => {
  const dir = join(await tempDir(t), 'data');
  let store = await openStore(dir);
  await store.writeMark('a', 'first');
  await store.writeMark('b', 'kept');
  await store.commit([
    { type: 'add', job: { id: 'j1', task: 't', args: '[]', createdAt: Date.now(), runAt: 0, expiresAt: 0, priority: 0 } },
  ]);
  await store.compact();
  await store.close();
  // The segments that held the mark records are gone: only the snapshot can have them now.
  for (const name of (await readdir(dir)).filter((f) => f.startsWith('journal-'))) {
    assert.doesNotMatch(await readFile(join(dir, name), 'utf8'), /"o":"k"/, `${name} holds no mark record after the compaction`);
  }
  assert.match((await readFile(join(dir, 'snapshot.db'), 'utf8')).split('\n')[0]!, /"m":\{"a":"first","b":"kept"\}/);

  store = await openStore(dir);
  assert.equal(store.readMark('a'), 'first', 'from the snapshot');
  assert.equal(store.readMark('b'), 'kept');
  assert.equal(store.jobs.get('j1')?.state, 'pending', 'the jobs beside them are intact');
  await store.writeMark('a', 'second');
  await store.close();

  store = await openStore(dir);
  assert.equal(store.readMark('a'), 'second', "the journal's write over the snapshot's");
  assert.equal(store.readMark('b'), 'kept');
  await store.compact();
  await store.close();
  store = await openStore(dir);
  t.after(() => store.close());
  assert.deepEqual([store.readMark('a'), store.readMark('b')], ['second', 'kept'], 'a second compaction keeps both');
});

test('a repair keeps the marks of the snapshot and the journal', async (t) => {
  const dir = join(await tempDir(t), 'data');
  let store = await openStore(dir);
  await store.writeMark('from-snapshot', '1');
  await store.compact();
  await store.writeMark('from-journal', '2');
  await store.close();
  // Damage the snapshot's trailer so that the repair rewrites the snapshot.
  const snapshot = join(dir, 'snapshot.db');
  const text = await readFile(snapshot, 'utf8');
  const { writeFile } = await import('node:fs/promises');
  await writeFile(snapshot, `${text}garbage line\n`);
  const report = await repairDataDir(dir);
  assert.equal(report.clean, false, 'the repair found the damage');
  store = await openStore(dir);
  t.after(() => store.close());
  assert.deepEqual([store.readMark('from-snapshot'), store.readMark('from-journal')], ['1', '2']);
});

test('a bad mark key or value is refused with what was wrong, and nothing is written', async (t) => {
  const dir = join(await tempDir(t), 'data');
  const app = await openApp(t, { dir });
  const backend = backendOf(app);
  await assert.rejects(backend.writeMark('', 'x'), { code: 'INVALID_ARGS', message: /key must be a non-empty string/ });
  await assert.rejects(backend.writeMark('k'.repeat(257), 'x'), { code: 'INVALID_ARGS', message: /at most 256 characters, got 257/ });
  await assert.rejects(backend.writeMark('k', 5 as unknown as string), {
    code: 'INVALID_ARGS',
    message: /value of mark "k" must be a string/,
  });
  await assert.rejects(backend.writeMark('k', 'x'.repeat(64 * 1024 + 1)), {
    code: 'INVALID_ARGS',
    message: /65537 bytes, over the limit of 65536/,
  });
  await assert.rejects(backend.readMark(7 as unknown as string), { code: 'INVALID_ARGS' });
  await app.close();
  const journal = (await readdir(dir)).filter((f) => f.startsWith('journal-'));
  for (const name of journal) assert.doesNotMatch(await readFile(join(dir, name), 'utf8'), /"o":"k"/, 'no mark record was written');
});
