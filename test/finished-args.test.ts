// A finished job's args are not kept in memory: the owner leaves them in the snapshot and
// reads them back when asked (get(), list()), after a restart and across compactions.
import { strict as assert } from 'node:assert';
import { open, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { createCeleriac, type Celeriac, type CeleriacError } from '../src/index.js';
import { readStoredArgs, type StoredArgs } from '../src/store/stored-args.js';
import { createClient } from '../src/client.js';
import { FileStore } from '../src/store/file-store.js';
import type { JobEvent } from '../src/jobs.js';
import { readJobInfo } from '../src/job-view.js';
import { addEvent, fixture, tempDir } from './helpers.js';

const TASKS = fixture('crash', 'tasks');
const openStore = (dir: string) => FileStore.open({ dir, resultTtlMs: 86_400_000, compactAfterBytes: 1 << 30 });

/** Args that a naive search for `,"a":` or a byte count by characters would get wrong. */
const argsOf = (i: number) => JSON.stringify([{ b: i, a: `é ${i},"a":[${i}]` }, 'ünïcødé']);

/** Jobs 0..n-1 added, the even ones run to success (the odd ones stay pending). */
async function fill(store: FileStore, n: number): Promise<void> {
  const adds: JobEvent[] = [];
  for (let i = 0; i < n; i++) {
    const ev = addEvent(i);
    if (ev.type === 'add') ev.job.args = argsOf(i);
    adds.push(ev);
  }
  await store.commit(adds);
  const at = Date.now();
  const even = Array.from({ length: Math.ceil(n / 2) }, (_, k) => `job-${2 * k}`);
  await store.commit(even.map((id) => ({ type: 'start', id, at })));
  await store.commit(even.map((id) => ({ type: 'succeed', id, at, result: '1' })));
}

async function checkArgs(store: FileStore, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const job = store.jobs.get(`job-${i}`)!;
    const info = await readJobInfo(job);
    assert.deepEqual(info.args, JSON.parse(argsOf(i)), `job-${i}'s args`);
    if (i % 2 === 0) assert.notEqual(typeof job.args, 'string', `finished job-${i} keeps its args in memory`);
    else assert.equal(job.args, argsOf(i), `pending job-${i}'s args are in memory`);
  }
}

test('a finished job leaves its args on disk after a compaction and a restart; reading them gives them back', async (t) => {
  const dir = join(await tempDir(t), 'data');
  const n = 200;
  let store = await openStore(dir);
  t.after(() => store.close());
  await fill(store, n);
  await store.compact();
  await checkArgs(store, n);
  // A second compaction copies the args from the first snapshot (which it replaces) into the new one.
  await store.compact();
  await checkArgs(store, n);
  await store.close();

  store = await openStore(dir);
  await checkArgs(store, n);
  await store.compact();
  await checkArgs(store, n);
  await store.close();
  store = await openStore(dir);
  await checkArgs(store, n);
});

test('args changed on disk after they were checked are refused as damage, not returned', async (t) => {
  const dir = join(await tempDir(t), 'data');
  const store = await openStore(dir);
  t.after(() => store.close());
  await fill(store, 4);
  await store.compact();
  const job = store.jobs.get('job-0')!;
  const stored = job.args as StoredArgs;
  // Inside the args, still valid JSON: `[{"b":0` becomes `[{"b":7`. Only the line's checksum tells.
  const fh = await open(join(dir, 'snapshot.db'), 'r+');
  await fh.write(Buffer.from('7'), 0, 1, stored.offset + 6);
  await fh.close();
  const damage = (err: CeleriacError) =>
    err.code === 'CORRUPT_JOURNAL' && /snapshot .*snapshot\.db at byte \d+/.test(err.message) && err.message.includes('"job-0"');
  await assert.rejects(readJobInfo(job), damage);
  await assert.rejects(readStoredArgs([stored], [job.id]), damage);
  // Nor copied into the next snapshot: the compaction fails, the old snapshot and the journal stay.
  await assert.rejects(store.compact(), damage);
  assert.equal(job.args, stored);
});

test('a read of args in several runs still gets them all when the file is closed between two runs', async (t) => {
  const dir = join(await tempDir(t), 'data');
  const store = await openStore(dir);
  t.after(() => store.close());
  const n = 400;
  await fill(store, n);
  await store.compact();
  // Finished jobs whose lines are far enough apart to be read one run each.
  const picked: { id: string; args: StoredArgs }[] = [];
  for (let i = 0; i < n; i += 2) {
    const args = store.jobs.get(`job-${i}`)!.args as StoredArgs;
    const last = picked.at(-1);
    if (!last || args.lineAt - last.args.lineEnd > 8192) picked.push({ id: `job-${i}`, args });
  }
  assert.ok(picked.length >= 3, `${picked.length} runs`);
  const reading = readStoredArgs(
    picked.map((p) => p.args),
    picked.map((p) => p.id),
  );
  // As a compaction does once it has moved the records to the new snapshot: close the old one
  // while the first run is in flight.
  const closed = picked[0]!.args.file.close();
  assert.deepEqual(
    await reading,
    picked.map((p) => argsOf(Number(p.id.slice(4)))),
  );
  await closed;
});

test('a compaction that leaves no finished job closes the snapshot it replaced', async (t) => {
  const dir = join(await tempDir(t), 'data');
  const store = await openStore(dir);
  t.after(() => store.close());
  await fill(store, 4);
  await store.compact();
  const snapshot = join(dir, 'snapshot.db');
  const deletedOpen = async () => {
    const links = await Promise.all((await readdir('/proc/self/fd')).map((fd) => readlink(`/proc/self/fd/${fd}`).catch(() => '')));
    return links.filter((l) => l === `${snapshot} (deleted)`).length;
  };
  const at = Date.now();
  await store.commit([0, 2].map((i) => ({ type: 'forget', id: `job-${i}`, at })));
  await store.compact();
  assert.equal(await deletedOpen(), 0, 'the replaced snapshot is still open');
  // Still none after one more compaction with a finished job and one without.
  await store.commit([{ type: 'start', id: 'job-1', at }]);
  await store.commit([{ type: 'succeed', id: 'job-1', at, result: '1' }]);
  await store.compact();
  await store.commit([{ type: 'forget', id: 'job-1', at }]);
  await store.compact();
  assert.equal(await deletedOpen(), 0, 'the replaced snapshot is still open');
});

async function openApp(t: TestContext, dir: string): Promise<Celeriac> {
  const app = await createCeleriac({ dir, tasks: TASKS, logger: false, concurrency: 1 });
  t.after(() => app.close({ timeout: 1 }));
  return app;
}

test("get(), list() and a client show a finished job's args after a restart and a compaction", async (t) => {
  const dir = join(await tempDir(t), 'data');
  let app = await openApp(t, dir);
  await app.start();
  const args = [2, 3];
  const h = await app.send('crash.add', args, { id: 'sum' });
  assert.equal(await h.result(), 5);
  await app.close();
  const store = await openStore(dir);
  await store.compact(); // the job's line, args and all, goes into the snapshot
  await store.close();

  app = await openApp(t, dir);
  await app.start();
  assert.deepEqual((await app.get('sum'))?.args, args);
  assert.deepEqual(
    (await app.list({ state: 'succeeded' })).jobs.map((j) => j.args),
    [args],
  );
  const client = await createClient({ dir });
  t.after(() => client.close());
  assert.deepEqual((await client.get('sum'))?.args, args, 'through the client (celeriac show with a worker running)');
});
