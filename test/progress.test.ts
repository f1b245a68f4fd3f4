import { strict as assert } from 'node:assert';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import type { CeleriacEvent } from '../src/index.js';
import { createCeleriac } from '../src/index.js';
import { fixture, openApp, tempDir, waitFor } from './helpers.js';

const tasks = [fixture('workflows', 'progress.ts')];

test('progress: a running job reports a percentage then an object; get() and the progress event show it, and it stays after the job ends', async (t) => {
  const dir = await tempDir(t);
  const app = await openApp(t, { tasks });
  const seen: CeleriacEvent[] = [];
  app.on('progress', (e) => seen.push(e));
  await app.start();
  const gate = join(dir, 'gate');
  const h = await app.send('progress.staged', [gate]);
  const want = { stage: 'download', done: 3, of: 6 };
  await waitFor(async () => JSON.stringify((await h.info())?.progress) === JSON.stringify(want), 10_000, 'the progress object in get()');
  assert.equal((await h.info())?.state, 'started');
  await waitFor(() => seen.some((e) => e.id === h.id), 5000, 'a progress event');
  const last = seen.filter((e) => e.id === h.id).at(-1)!;
  assert.equal(last.task, 'progress.staged');
  assert.deepEqual(last.progress, want);
  await writeFile(gate, '');
  assert.equal(await h.result({ timeout: 10 }), 'done');
  assert.deepEqual((await app.get(h.id))?.progress, want);
});

test('progress: a burst of calls is coalesced (far fewer events and journal records than calls), the latest value wins and survives a restart', async (t) => {
  const dir = join(await tempDir(t), 'data');
  const app = await createCeleriac({ dir, tasks, logger: false, concurrency: 1 });
  let closed = false;
  t.after(() => (closed ? undefined : app.close({ timeout: 1 })));
  const seen: CeleriacEvent[] = [];
  app.on('progress', (e) => seen.push(e));
  await app.start();
  const h = await app.send('progress.burst', [1000]);
  assert.equal(await h.result({ timeout: 10 }), 1000);
  await waitFor(() => seen.some((e) => e.progress === 100), 5000, 'the last progress event');
  assert.ok(seen.length >= 2 && seen.length <= 6, `1001 calls gave ${seen.length} progress events`);
  assert.equal(seen.at(-1)!.progress, 100);
  assert.equal(seen[0]!.progress, 99.9, "the first message carries the burst's latest value");
  await app.close();
  closed = true;
  const segments = (await readdir(dir)).filter((f) => f.startsWith('journal'));
  let records = 0;
  for (const f of segments) records += ((await readFile(join(dir, f), 'utf8')).match(/"o":"p"/g) ?? []).length;
  assert.ok(records >= 1 && records <= 6, `1001 calls gave ${records} progress records in the journal`);
  const again = await createCeleriac({ dir, tasks, logger: false, concurrency: 1 });
  t.after(() => again.close({ timeout: 1 }));
  assert.equal((await again.get(h.id))?.progress, 100);
});

test('progress: a value that is not a percentage or a small JSON object is refused with INVALID_PROGRESS naming the task and the problem', async (t) => {
  const app = await openApp(t, { tasks });
  await app.start();
  const out = (await (await app.send('progress.bad', [])).result({ timeout: 10 })) as string[];
  assert.equal(out.length, 9);
  for (const line of out)
    assert.match(line, /^INVALID_PROGRESS: progress\.bad: context\(\)\.progress\(\): .*pass a number from 0 to 100 or a plain object/);
  assert.match(out[0]!, /101 is not a percentage/);
  assert.match(out[1]!, /-1 is not a percentage/);
  assert.match(out[2]!, /NaN is not a percentage/);
  assert.match(out[3]!, /got string/);
  assert.match(out[4]!, /got an array/);
  assert.match(out[5]!, /got null/);
  assert.match(out[6]!, /50\d\d bytes of JSON/);
  assert.match(out[7]!, /when/);
  assert.match(out[8]!, /\bn\b/);
});
