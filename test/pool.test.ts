// The worker pool as users see it: which modules load, how many threads run tasks,
// how many jobs overlap inside one thread, and that the host thread stays free.
import { strict as assert } from 'node:assert';
import { availableParallelism } from 'node:os';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { test } from 'node:test';
import { threadId as hostThreadId } from 'node:worker_threads';
import { createCeleriac } from '../src/index.js';
import { allThreadsLoaded, fixture, openApp, tempDir, waitFor } from './helpers.js';

const POOL = fixture('pool');

interface Where {
  threadId: number;
  isMainThread: boolean;
}

test('tasks load from a .ts module and from a .js (ESM) module in the same directory', async (t) => {
  const app = await openApp(t, { tasks: [POOL] });
  const byName = new Map(app.tasks.map((d) => [d.name, d]));
  assert.equal(byName.get('pool.ts.hello')?.file, join(POOL, 'ts-tasks.ts'));
  assert.equal(byName.get('pool.js.hello')?.file, join(POOL, 'js-tasks.js'));
  await app.start();
  const [ts, js] = await Promise.all([
    app.send('pool.ts.hello', ['from ts']).then((h) => h.result({ timeout: 15 })),
    app.send('pool.js.hello', ['from js']).then((h) => h.result({ timeout: 15 })),
  ]);
  assert.deepEqual(
    { ...(ts as object), threadId: undefined },
    { from: 'ts', greeting: 'hello from ts', isMainThread: false, threadId: undefined },
  );
  assert.deepEqual(
    { ...(js as object), threadId: undefined },
    { from: 'js', greeting: 'hello from js', isMainThread: false, threadId: undefined },
  );
});

test('a .js (ESM) task module works on its own', async (t) => {
  const app = await openApp(t, { tasks: [join(POOL, 'js-tasks.js')], concurrency: 1 });
  // Only the .js module's task (besides celeriac's own built-ins).
  assert.deepEqual(
    app.tasks.filter((d) => !d.name.startsWith('celeriac.')).map((d) => d.name),
    ['pool.js.hello'],
  );
  await app.start();
  const h = await app.send('pool.js.hello', ['alone']);
  assert.equal(((await h.result({ timeout: 15 })) as { greeting: string }).greeting, 'hello alone');
});

test('the default pool has os.availableParallelism() threads, and the host thread never runs a task', async (t) => {
  const cores = availableParallelism();
  const dir = join(await tempDir(t), 'data');
  // No `concurrency` option: the default is what is under test.
  const app = await createCeleriac({ dir, tasks: [POOL], logger: false });
  t.after(() => app.close({ timeout: 1 }));
  await app.start();
  await allThreadsLoaded(app);
  // Four jobs per expected worker, each holding its worker a while, so that every worker gets some.
  const handles = await app.sendMany(
    'pool.where',
    Array.from({ length: cores * 4 }, () => [150]),
  );
  const results = (await Promise.all(handles.map((h) => h.result({ timeout: 30 })))) as Where[];
  const threads = new Set(results.map((r) => r.threadId));
  assert.equal(threads.size, cores, `expected ${cores} distinct worker threads, saw ${[...threads].join(', ')}`);
  assert.equal(hostThreadId, 0);
  assert.ok(!threads.has(hostThreadId), 'no task ran on the host thread');
  assert.ok(results.every((r) => r.isMainThread === false));
});

test('workerConcurrency lets async jobs overlap inside one worker', async (t) => {
  const app = await openApp(t, { tasks: [POOL], concurrency: 1, workerConcurrency: 4 });
  await app.start();
  // Each job waits (up to 5 s) until all four have arrived: they can only all meet if they run at once.
  const handles = await app.sendMany(
    'pool.barrier',
    Array.from({ length: 4 }, () => ['overlap', 4, 5000]),
  );
  const results = (await Promise.all(handles.map((h) => h.result({ timeout: 20 })))) as Array<{
    threadId: number;
    met: boolean;
    start: number;
    end: number;
  }>;
  assert.deepEqual(
    results.map((r) => r.met),
    [true, true, true, true],
    'every job saw the other three running',
  );
  assert.equal(new Set(results.map((r) => r.threadId)).size, 1, 'all four ran in the one worker');
  const latestStart = Math.max(...results.map((r) => r.start));
  const earliestEnd = Math.min(...results.map((r) => r.end));
  assert.ok(latestStart <= earliestEnd, `the four run intervals intersect (last start ${latestStart}, first end ${earliestEnd})`);
});

test('without workerConcurrency a worker runs one job at a time (the barrier above can tell)', async (t) => {
  const app = await openApp(t, { tasks: [POOL], concurrency: 1 });
  await app.start();
  const handles = await app.sendMany('pool.barrier', [
    ['serial', 2, 300],
    ['serial', 2, 300],
  ]);
  const results = (await Promise.all(handles.map((h) => h.result({ timeout: 20 })))) as Array<{
    met: boolean;
    start: number;
    end: number;
  }>;
  assert.deepEqual(
    results.map((r) => r.met),
    [false, false],
    'neither job saw the other running',
  );
  const [a, b] = [...results].sort((x, y) => x.start - y.start);
  assert.ok(b!.start >= a!.end, 'the second job began after the first ended');
});

test('the host event loop stays responsive while CPU-bound tasks run', async (t) => {
  const tmp = await tempDir(t);
  const release = join(tmp, 'release');
  const app = await openApp(t, { tasks: [POOL], concurrency: 2, prefetch: 1 });
  await app.start();
  await allThreadsLoaded(app);
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  // Two jobs that spin their worker's CPU until the host creates `release`: they can only
  // end if the host's event loop keeps turning while both workers are busy.
  const handles = await app.sendMany('pool.spinUntil', [
    [release, 60_000],
    [release, 60_000],
  ]);
  await waitFor(
    async () => (await Promise.all(handles.map((h) => h.info()))).every((info) => info?.state === 'started'),
    30_000,
    'both jobs to start',
  );
  let ticks = 0;
  while (ticks < 20) await new Promise<void>((r) => setTimeout(() => r(void ticks++), 1));
  await writeFile(release, '');
  const results = (await Promise.all(handles.map((h) => h.result({ timeout: 60 })))) as Array<{
    threadId: number;
    isMainThread: boolean;
    released: boolean;
  }>;
  histogram.disable();
  assert.deepEqual(
    results.map((r) => r.released),
    [true, true],
    'both jobs spun until the host, turning its loop meanwhile, released them',
  );
  assert.equal(new Set(results.map((r) => r.threadId)).size, 2, 'they spun in two workers at once');
  assert.ok(results.every((r) => r.threadId !== hostThreadId && !r.isMainThread));
  t.diagnostic(`host event-loop delay: p99 ${(histogram.percentile(99) / 1e6).toFixed(1)} ms, max ${(histogram.max / 1e6).toFixed(1)} ms`);
});

test("a job's outcome leaves its worker before the next job queued there begins, so the host hears of it while that job runs", async (t) => {
  const release = join(await tempDir(t), 'release');
  const app = await openApp(t, { tasks: [POOL], concurrency: 1, workerConcurrency: 1 });
  await app.start();
  // The second job reaches the worker while the first spins, and waits in its queue. It
  // spins until the host creates `release`, which the host does on the first one's result:
  // that result can only come if the first outcome left before the second job began.
  const first = await app.send('pool.busy', [300]);
  const second = await app.send('pool.spinUntil', [release, 10_000]);
  await first.result({ timeout: 30 });
  await writeFile(release, '');
  const { released } = (await second.result({ timeout: 30 })) as { released: boolean };
  assert.equal(released, true, "the first job's result came only after the job queued behind it had ended");
});

test("a short job's outcome does not wait in its worker behind a job not known to be short", async (t) => {
  const release = join(await tempDir(t), 'release');
  const app = await openApp(t, { tasks: [POOL], concurrency: 1, workerConcurrency: 1 });
  await app.start();
  // Measured in the worker: pool.js.hello takes well under 1 ms.
  for (let i = 0; i < 5; i++) await (await app.send('pool.js.hello', ['warm'])).result({ timeout: 20 });
  // Sent in one turn, the two reach the worker in one message and run back to back: the
  // short job, then one (its task never run here) that spins until the host has the short
  // job's result.
  const [short, spinning] = await Promise.all([app.send('pool.js.hello', ['short']), app.send('pool.spinUntil', [release, 10_000])]);
  await short!.result({ timeout: 30 });
  await writeFile(release, '');
  const { released } = (await spinning!.result({ timeout: 30 })) as { released: boolean };
  assert.equal(released, true, "the short job's result waited in the worker behind the spinning one");
});

test('jobs of a few ms each go to the workers a few at a time: about 2 ms of work per message, by the measured run time of their task', async (t) => {
  const app = await openApp(t, { tasks: [fixture('steal')], concurrency: 2, workerConcurrency: 1 });
  // Each pool.run() call is one dispatch unit: one message to one worker. Recorded, then run as usual.
  const pool = (app as unknown as { pool: { run: (jobs: unknown[], ...rest: unknown[]) => Promise<void> } }).pool;
  const units: number[] = [];
  const run = pool.run.bind(pool);
  pool.run = (jobs: unknown[], ...rest: unknown[]) => {
    units.push(jobs.length);
    return run(jobs, ...rest);
  };
  await app.start();
  // Not yet measured, steal.busy counts as 0.5 ms a job: four to a message.
  const unmeasured = await app.sendMany<number>(
    'steal.busy',
    Array.from({ length: 8 }, () => [20]),
  );
  await Promise.all(unmeasured.map((h) => h.result({ timeout: 20 })));
  assert.deepEqual(units, [4, 4]);
  // Its runs took 20 ms each: now each of its jobs travels alone, so that neither worker
  // ends a burst holding jobs the other could have taken.
  units.length = 0;
  const measured = await app.sendMany<number>(
    'steal.busy',
    Array.from({ length: 12 }, () => [20]),
  );
  const threads = await Promise.all(measured.map((h) => h.result({ timeout: 20 })));
  assert.deepEqual(
    units,
    Array.from({ length: 12 }, () => 1),
  );
  const perThread = [...new Set(threads)].map((id) => threads.filter((x) => x === id).length);
  t.diagnostic(`jobs per worker thread: ${JSON.stringify(perThread)}`);
});

test('jobs queued behind a long job in one worker move to an idle worker', async (t) => {
  const app = await openApp(t, { tasks: [fixture('steal')], concurrency: 2, workerConcurrency: 1, prefetch: 8 });
  await app.start();
  await allThreadsLoaded(app);
  // One long job and, right behind it, short ones: half of them land in the long job's worker.
  const long = await app.send('steal.long', [1500]);
  const shorts = await app.sendMany(
    'steal.short',
    Array.from({ length: 12 }, () => []),
  );
  const longDoneAt = (await long.result({ timeout: 20 })) as number;
  const shortDoneAt = (await Promise.all(shorts.map((h) => h.result({ timeout: 20 })))) as number[];
  const late = shortDoneAt.filter((at) => at >= longDoneAt).length;
  assert.equal(late, 0, `${late} short job(s) waited behind the long one instead of moving to the idle worker`);
  for (const h of shorts) assert.equal((await h.info())?.attempts, 1, 'a moved job is not counted as a second attempt');
});
