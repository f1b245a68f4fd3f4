import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { test } from 'node:test';
import { type CeleriacError, createClient, type Celeriac, type JobInfo, type ListOptions } from '../src/index.js';
import { openApp, sleep, tempDir } from './helpers.js';

/** Every page of a listing, following `next`. */
async function allPages(list: (o: ListOptions) => Promise<{ jobs: JobInfo[]; next?: string }>, options: ListOptions): Promise<JobInfo[][]> {
  const pages: JobInfo[][] = [];
  let after: string | undefined;
  do {
    const page = await list(after === undefined ? options : { ...options, after });
    pages.push(page.jobs);
    after = page.next;
  } while (after !== undefined);
  return pages;
}

const newestFirst = (jobs: JobInfo[]) =>
  [...jobs].sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : -1)).map((j) => j.id);

async function sendSome(app: Celeriac): Promise<void> {
  await app.send('demo.echo', ['oldest'], { id: 'oldest' });
  await sleep(5);
  await app.sendMany(
    'demo.echo',
    Array.from({ length: 20 }, (_, i) => ({ args: [`e${i}`], id: `e${String(i).padStart(2, '0')}` })),
  );
  await sleep(5);
  await app.sendMany(
    'math.add',
    Array.from({ length: 9 }, (_, i) => ({ args: [i, 1], id: `m${i}` })),
  );
  await sleep(5);
  await app.send('demo.echo', ['newest'], { id: 'newest' });
  await app.cancel('e03');
  await app.cancel('m4');
}

test('app.list pages through the jobs newest first with the filters of celeriac list; the client lists the same', async (t) => {
  const dir = join(await tempDir(t), 'data');
  const app = await openApp(t, { dir });
  await sendSome(app);

  const first = await app.list();
  assert.equal(first.jobs.length, 31, 'default limit 50: everything on one page');
  assert.equal(first.next, undefined);
  assert.equal(first.jobs[0]!.id, 'newest');
  assert.equal(first.jobs.at(-1)!.id, 'oldest');
  assert.deepEqual(
    first.jobs.map((j) => j.id),
    newestFirst(first.jobs),
  );
  assert.deepEqual(first.jobs.find((j) => j.id === 'm2')?.args, [2, 1], 'pages hold the JobInfo objects get() returns');

  const pages = await allPages((o) => app.list(o), { limit: 7 });
  assert.deepEqual(
    pages.map((p) => p.length),
    [7, 7, 7, 7, 3],
  );
  assert.deepEqual(
    pages.flat().map((j) => j.id),
    first.jobs.map((j) => j.id),
    'the pages together: every job once, in order',
  );

  const echo = (await allPages((o) => app.list(o), { task: 'demo.echo', limit: 4 })).flat();
  assert.equal(echo.length, 22);
  assert.ok(echo.every((j) => j.task === 'demo.echo'));
  assert.deepEqual(
    (await app.list({ state: 'cancelled' })).jobs.map((j) => j.id),
    ['m4', 'e03'],
  );
  assert.deepEqual(
    (await app.list({ state: 'cancelled', task: 'math.add' })).jobs.map((j) => j.id),
    ['m4'],
  );
  assert.deepEqual((await app.list({ task: 'no.such' })).jobs, []);

  // The client reads the dir: the same pages, while the app runs and after it stopped.
  const client = await createClient({ dir });
  const viaClient = (await allPages((o) => client.list(o), { limit: 7 })).flat();
  assert.deepEqual(
    viaClient.map((j) => j.id),
    first.jobs.map((j) => j.id),
  );
  assert.deepEqual(
    (await client.list({ state: 'cancelled', limit: 1 })).jobs.map((j) => j.id),
    ['m4'],
  );

  for (const [bad, message] of [
    [{ state: 'done' }, /list\(\): state must be one of pending, .*; got "done"/],
    [{ limit: 0 }, /list\(\): limit must be an integer ≥ 1, got 0/],
    [{ after: 'page-2' }, /list\(\): after must be the `next` of a page an earlier list\(\) returned, got "page-2"/],
    [{ colour: 'red' }, /list\(\): unknown option "colour"/],
    [{ task: 5 }, /list\(\): task must be a task name, got 5/],
  ] as const) {
    await assert.rejects(app.list(bad as ListOptions), (err: CeleriacError) => err.code === 'INVALID_ARGS' && message.test(err.message));
    await assert.rejects(client.list(bad as ListOptions), (err: CeleriacError) => err.code === 'INVALID_ARGS');
  }
});

test('a cursor stays exact when jobs are added or change state between pages', async (t) => {
  const app = await openApp(t);
  await sendSome(app);
  const page1 = await app.list({ limit: 10 });
  const rest = newestFirst((await app.list({ limit: 100 })).jobs).slice(10);
  // Between pages: a newer job arrives, the last job shown is cancelled, one not yet shown too.
  await sleep(5);
  await app.send('demo.echo', ['late'], { id: 'late' });
  await app.cancel(page1.jobs.at(-1)!.id);
  await app.cancel(rest[0]!);
  const after = (await allPages((o) => app.list(o), { limit: 10, after: page1.next! })).flat();
  assert.deepEqual(
    after.map((j) => j.id),
    rest,
    'the next pages go on after the last job shown: nothing skipped, nothing twice, the newer job not among them',
  );
  assert.equal(after[0]!.state, 'cancelled');
});
