// createClient() against a running app: sends acknowledged once durable, handles with
// result() and info(), reads, cancels and events over the socket; and with no app
// running, sends through the inbox whose result() waits for a worker.
import { strict as assert } from 'node:assert';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { createClient, TaskFailedError, type CeleriacEvent } from '../src/index.js';
import { fixture, openApp, tempDir, waitFor } from './helpers.js';

const inboxFiles = async (dir: string) =>
  (await readdir(join(dir, 'inbox')).catch(() => [] as string[])).filter((f) => f.endsWith('.json'));

test('with a worker running, a client send is durable when it resolves, goes over the socket (no inbox file), and its handle gives result and info', async (t) => {
  const dir = join(await tempDir(t), 'data');
  const app = await openApp(t, { dir });
  await app.start();
  const client = await createClient({ dir });
  t.after(() => client.close());
  const h = await client.send('math.add', [2, 3]);
  assert.equal(h.inboxFile, undefined, 'not handed in through the inbox');
  assert.equal(h.created, true);
  assert.ok(await app.get(h.id), 'the app has the job the moment the send resolved');
  assert.deepEqual(await inboxFiles(dir), []);
  assert.equal(await h.result({ timeout: 10 }), 5);
  const info = await h.info();
  assert.equal(info?.state, 'succeeded');
  assert.ok(info?.createdAt instanceof Date && info.finishedAt instanceof Date, 'times are Dates again');
  const again = await client.send('math.add', [9, 9], { id: h.id });
  assert.equal(again.created, false, 'a known id creates nothing');
});

test('a client reads, lists, counts and cancels through the worker, which reports reserved jobs too', async (t) => {
  const dir = join(await tempDir(t), 'data');
  const app = await openApp(t, { dir });
  await app.start();
  const client = await createClient({ dir });
  t.after(() => client.close());
  const later = await client.send('demo.echo', ['later'], { countdown: 600, id: 'later-1' });
  assert.equal((await client.get('later-1'))?.state, 'pending');
  assert.equal((await client.list({ state: 'pending' })).jobs.map((j) => j.id).join(), 'later-1');
  assert.equal((await client.counts()).pending, 1);
  assert.equal(await client.cancel(later.id), true, 'the worker cancelled it');
  assert.equal((await app.get(later.id))?.state, 'cancelled');
  await assert.rejects(later.result({ timeout: 5 }), (err: Error & { code?: string }) => err.code === 'JOB_CANCELLED');
  assert.equal(await client.cancel(later.id), false, 'a finished job is not cancelled again');
  assert.equal(await client.get('no-such-job'), undefined);
});

test('a failing job rejects the client handle with TaskFailedError carrying the task error', async (t) => {
  const dir = join(await tempDir(t), 'data');
  const app = await openApp(t, { dir });
  await app.start();
  const client = await createClient({ dir });
  t.after(() => client.close());
  const h = await client.send('demo.boom', ['kaput']);
  await assert.rejects(
    h.result({ timeout: 10 }),
    (err: unknown) => err instanceof TaskFailedError && err.remote.name === 'TypeError' && err.remote.message === 'kaput',
  );
});

test("bad input sent over the socket is refused with the app's own error, and nothing is written", async (t) => {
  const dir = join(await tempDir(t), 'data');
  const app = await openApp(t, { dir });
  await app.start();
  const client = await createClient({ dir });
  t.after(() => client.close());
  await assert.rejects(
    client.send('math.ad', [1, 2]),
    (err: Error & { code?: string }) => err.code === 'UNKNOWN_TASK' && /did you mean "math.add"/.test(err.message),
  );
  await assert.rejects(client.send('math.add', [1]), (err: Error & { code?: string }) => err.code === 'INVALID_ARGS');
  assert.equal((await app.list()).jobs.length, 0);
  assert.deepEqual(await inboxFiles(dir), [], 'a refused send is not handed in through the inbox either');
});

test('client events: received, started and succeeded of a job, told by the worker', async (t) => {
  const dir = join(await tempDir(t), 'data');
  const app = await openApp(t, { dir });
  await app.start();
  const client = await createClient({ dir });
  t.after(() => client.close());
  const seen: CeleriacEvent[] = [];
  client.on('received', (e) => seen.push(e)).on('succeeded', (e) => seen.push(e));
  assert.equal(await client.subscribed(), true);
  const h = await client.send('math.add', [20, 22]);
  await waitFor(() => seen.some((e) => e.type === 'succeeded' && e.id === h.id), 10_000, 'the succeeded event');
  const mine = seen.filter((e) => e.id === h.id);
  assert.deepEqual(
    mine.map((e) => e.type),
    ['received', 'succeeded'],
  );
  assert.equal(mine[1]!.result, 42);
  assert.ok(mine[0]!.at instanceof Date);
});

test('with no worker running, a send goes through the inbox and result() waits until a worker has run it', async (t) => {
  const dir = join(await tempDir(t), 'data');
  const client = await createClient({ dir });
  t.after(() => client.close());
  const h = await client.send('demo.echo', ['while down']);
  assert.ok(h.inboxFile, 'handed in through the inbox');
  assert.equal((await h.info())?.state, 'pending', 'readers see it as pending from the inbox');
  const result = h.result({ timeout: 60 });
  const app = await openApp(t, { dir });
  await app.start();
  assert.equal(await result, 'while down');
  const next = await client.send('demo.echo', ['now up']);
  assert.equal(next.inboxFile, undefined, 'the client reconnected by itself once the worker listened');
});

test('a client subscribed to events reconnects by itself when the worker restarts', async (t) => {
  const dir = join(await tempDir(t), 'data');
  const first = await openApp(t, { dir });
  await first.start();
  const client = await createClient({ dir });
  t.after(() => client.close());
  const done: string[] = [];
  client.on('succeeded', (e) => done.push(e.id));
  assert.equal(await client.subscribed(), true);
  await first.close();
  const second = await openApp(t, { dir });
  await second.start();
  // Sent by the app itself: only a client that reconnected and subscribed again hears of it.
  // Events before it has (the new worker may run a job first) are not replayed: send until one is heard.
  const sent: string[] = [];
  await waitFor(
    async () => {
      sent.push((await second.send('math.add', [1, 1])).id);
      await new Promise((r) => setTimeout(r, 100));
      return sent.some((id) => done.includes(id)) || undefined;
    },
    10_000,
    'an event after the restart',
  );
});
