// app.idle() waits for the work in hand to settle, and is told when it has: it resolves
// after the last job's outcome is durable and told, in that same turn (not at some later
// poll), and waits through what a finished job sets off (a workflow's next step).
import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { test } from 'node:test';
import { readJobs } from '../src/admin.js';
import { chain, signature } from '../src/index.js';
import { fixture, openApp, tempDir } from './helpers.js';

const LIMIT_MS = 120_000;

test('idle() resolves after the last job is durable and told, in the same turn, not before', { timeout: LIMIT_MS }, async (t) => {
  const tmp = await tempDir(t);
  const dir = join(tmp, 'data');
  const log = join(tmp, 'runs.log');
  const app = await openApp(t, { dir, tasks: [fixture('timing')], concurrency: 2 });
  const order: string[] = [];
  const sent = new Set<string>();
  app.on('succeeded', (e) => {
    order.push(`succeeded ${e.id}`);
    sent.delete(e.id);
    // A poll would see the end only in a later turn of the event loop: this callback would come first.
    if (sent.size === 0) setImmediate(() => order.push('next turn'));
  });
  await app.start();
  const jobs = await Promise.all([100, 200, 400].map((ms) => app.send('timing.wait', [ms, log])));
  for (const j of jobs) sent.add(j.id);
  await app.idle();
  order.push('idle');
  const onDisk = await readJobs(dir);

  const last = jobs[2]!.id;
  assert.equal(order.filter((e) => e.startsWith('succeeded')).length, 3, `every job succeeded before idle() resolved: ${order.join(', ')}`);
  assert.equal(order.indexOf(`succeeded ${last}`), 2, `the longest job finished last: ${order.join(', ')}`);
  assert.equal(order[3], 'idle', `idle() resolved right after the last job was told, before the next turn: ${order.join(', ')}`);
  for (const j of jobs) assert.equal(onDisk.get(j.id)?.state, 'succeeded', `job ${j.id} is succeeded on disk`);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(order.slice(3), ['idle', 'next turn']);
});

test("idle() waits through what a finished job sets off: a chain's later steps", { timeout: LIMIT_MS }, async (t) => {
  const app = await openApp(t, { tasks: [fixture('workflows', 'canvas.ts')] });
  await app.start();
  const h = await app.sendWorkflow(chain(signature('wf.add', [1, 2]), signature('wf.double', []), signature('wf.add', [10])), {
    id: 'idle-chain',
  });
  await app.idle();
  for (const id of h.jobs) assert.equal((await app.get(id))?.state, 'succeeded', `step ${id} ran before idle() resolved`);
  assert.equal(await h.result({ timeout: 1 }), 16);
});

test('idle() with nothing in hand resolves at once, and a job waiting for a later time does not hold it', {
  timeout: LIMIT_MS,
}, async (t) => {
  const tmp = await tempDir(t);
  const app = await openApp(t, { dir: join(tmp, 'data'), tasks: [fixture('timing')] });
  await app.start();
  await app.idle();
  const later = await app.send('timing.stamp', [join(tmp, 'runs.log')], { countdown: 3600 });
  await app.idle();
  assert.equal((await later.info())?.state, 'pending');
});

test('idle() waits for sends still being written, random ids included, single and bulk', { timeout: LIMIT_MS }, async (t) => {
  // A rate-limited task is not claimed for an immediate start, so until its add is written the
  // dispatcher has not heard of the job: only the write in progress tells idle() to wait.
  const app = await openApp(t, { tasks: [fixture('workflows', 'rate.ts')], concurrency: 1 });
  await app.start();
  const single = app.send('rate.fifty', []);
  const bulk = app.sendMany('rate.fifty', [[], []]);
  await app.idle();
  const counts = await app.counts();
  assert.equal(counts.succeeded, 3, `the 3 jobs sent before idle() ran before it resolved: ${JSON.stringify(counts)}`);
  const handles = [await single, ...(await bulk)];
  for (const h of handles) assert.equal((await h.info())?.state, 'succeeded');
});
