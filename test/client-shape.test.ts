// A client gives what the app gives: the same JobHandle, and JobInfo and JobPage with the
// same fields and the same value types (Dates for times), whether the worker answers over
// the socket or, with no worker running, the client reads the data dir itself.
import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { test } from 'node:test';
import { createClient, type JobHandle, type JobInfo } from '../src/index.js';
import { openApp, tempDir } from './helpers.js';

/** Each field's kind, recursively: what must match between app and client (not ids or times). */
function shape(value: unknown): unknown {
  if (value instanceof Date) return 'Date';
  if (Array.isArray(value)) return value.map(shape);
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(
      Object.entries(value)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, v]) => [k, shape(v)]),
    );
  return value === null ? 'null' : typeof value;
}

/** A handle's public face: its own fields' kinds and the methods it answers. */
function handleShape(h: JobHandle): unknown {
  return { id: typeof h.id, created: typeof h.created, inboxFile: h.inboxFile, result: typeof h.result, info: typeof h.info };
}

/** The same four jobs, sent through `send`: finished, failed, waiting with a countdown, with an expiry. */
async function sendEach(send: (task: string, args: unknown[], options?: object) => Promise<JobHandle>): Promise<JobHandle[]> {
  return [
    await send('math.add', [2, 3]),
    await send('demo.boom', ['kaput']),
    await send('demo.echo', ['later'], { countdown: 600 }),
    await send('demo.echo', ['soon'], { expires: 600, priority: 3 }),
  ];
}

async function settle(handles: JobHandle[]): Promise<void> {
  await handles[0]!.result({ timeout: 10 });
  await handles[1]!.result({ timeout: 10 }).catch(() => undefined);
  await handles[3]!.result({ timeout: 10 });
}

test("a client's handles, get() and list() have the app's shape, over the socket and read from the data dir", async (t) => {
  const dir = join(await tempDir(t), 'data');
  const app = await openApp(t, { dir });
  await app.start();
  const client = await createClient({ dir });
  t.after(() => client.close());

  const fromApp = await sendEach((task, args, options) => app.send(task, args, options));
  const fromClient = await sendEach((task, args, options) => client.send(task, args, options));
  await settle(fromApp);
  await settle(fromClient);

  assert.deepEqual(fromClient.map(handleShape), fromApp.map(handleShape), 'the handles answer the same members');
  assert.deepEqual(
    shape(await client.job(fromApp[0]!.id).info()),
    shape(await (await app.job(fromApp[0]!.id))!.info()),
    'job(id) gives the same handle',
  );

  const appInfos = await Promise.all(fromApp.map((h) => h.info()));
  assert.deepEqual(
    appInfos.map((i) => i?.state),
    ['succeeded', 'failed', 'pending', 'succeeded'],
    'the jobs compared cover a result, an error, a runAt and an expiresAt',
  );
  assert.ok(appInfos[2]?.runAt instanceof Date && appInfos[3]?.expiresAt instanceof Date);
  const expected = appInfos.map(shape);
  assert.deepEqual((await Promise.all(fromClient.map((h) => h.info()))).map(shape), expected, "the client handle's info()");
  assert.deepEqual((await Promise.all(fromClient.map((h) => client.get(h.id)))).map(shape), expected, 'client.get() over the socket');
  assert.deepEqual((await Promise.all(fromClient.map((h) => app.get(h.id)))).map(shape), expected, "app.get() of the client's jobs");

  const pageShape = (page: { jobs: JobInfo[]; next?: string }) => ({ ...(shape(page) as object), jobs: page.jobs.map((j) => j.state) });
  const appPage = await app.list({ limit: 3 });
  assert.ok(appPage.next, 'a page with a cursor to the next one');
  assert.deepEqual(pageShape(await client.list({ limit: 3 })), pageShape(appPage), 'client.list() over the socket');
  assert.deepEqual(shape((await client.list({ limit: 3 })).jobs), shape(appPage.jobs));

  await app.close({ timeout: 1 });
  assert.equal(await client.connected(), false, 'no worker runs now: the client reads the data dir');
  assert.deepEqual((await Promise.all(fromClient.map((h) => client.get(h.id)))).map(shape), expected, 'client.get() from the data dir');
  assert.deepEqual(shape((await client.list({ limit: 3 })).jobs), shape(appPage.jobs), 'client.list() from the data dir');
});
