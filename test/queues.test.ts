import { strict as assert } from 'node:assert';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { createCeleriac, type CeleriacError } from '../src/index.js';
import { resolveTaskOptions } from '../src/task.js';
import { fixture, tempDir } from './helpers.js';

const tasks = [fixture('workflows', 'queues.ts')];
type Span = { start: number; end: number };

/** The most spans open at one instant. */
function mostAtOnce(spans: Span[]): number {
  const edges = spans
    .flatMap(
      (s) =>
        [
          [s.start, 1],
          [s.end, -1],
        ] as const,
    )
    .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let open = 0;
  let most = 0;
  for (const [, d] of edges) most = Math.max(most, (open += d));
  return most;
}

test('queues: an app runs only its queues; jobs of another queue (by task option or per send) stay pending on disk and run in an app that runs it', async (t) => {
  const dir = join(await tempDir(t), 'data');
  const a = await createCeleriac({ dir, tasks, logger: false, concurrency: 1, queues: ['default'] });
  let aClosed = false;
  t.after(() => (aClosed ? undefined : a.close({ timeout: 1 })));
  await a.start();
  const byTask = await a.send('q.io', [1]);
  const bySend = await a.send('q.cpu', [1], { queue: 'io' });
  const plain = await a.send('q.cpu', [1]);
  await plain.result({ timeout: 10 });
  await a.idle();
  for (const h of [byTask, bySend]) {
    const info = await h.info();
    assert.equal(info?.state, 'pending');
    assert.equal(info?.queue, 'io');
  }
  assert.equal((await plain.info())?.queue, 'default');
  await a.close();
  aClosed = true;
  const b = await createCeleriac({ dir, tasks, logger: false, concurrency: 1, queues: ['io'] });
  t.after(() => b.close({ timeout: 1 }));
  await b.start();
  for (const id of [byTask.id, bySend.id]) {
    await (await b.job(id))!.result({ timeout: 10 });
    assert.equal((await b.get(id))?.state, 'succeeded');
    assert.equal((await b.get(id))?.queue, 'io');
  }
});

test('queues: each queue has its own concurrency within the pool', async (t) => {
  const dir = join(await tempDir(t), 'data');
  const app = await createCeleriac({ dir, tasks, logger: false, concurrency: 2, workerConcurrency: 8, queues: { io: 2, default: 3 } });
  t.after(() => app.close({ timeout: 1 }));
  await app.start();
  const io = await app.sendMany(
    'q.io',
    Array.from({ length: 8 }, () => [150]),
  );
  const cpu = await app.sendMany(
    'q.cpu',
    Array.from({ length: 9 }, () => [150]),
  );
  const ioSpans = (await Promise.all(io.map((h) => h.result({ timeout: 30 })))) as Span[];
  const cpuSpans = (await Promise.all(cpu.map((h) => h.result({ timeout: 30 })))) as Span[];
  assert.equal(mostAtOnce(ioSpans), 2, 'io: at most 2 at once, and 2 did run together');
  assert.equal(mostAtOnce(cpuSpans), 3, 'default: at most 3 at once, and 3 did run together');
  assert.ok(mostAtOnce([...ioSpans, ...cpuSpans]) > 3, 'the two queues run side by side');
});

test('queues: an unknown or malformed queue is refused with a clear error and nothing is written', async (t) => {
  const dir = join(await tempDir(t), 'data');
  const app = await createCeleriac({ dir, tasks, logger: false, concurrency: 1 });
  t.after(() => app.close({ timeout: 1 }));
  const journal = async () => {
    let text = '';
    for (const f of (await readdir(dir)).filter((n) => n.startsWith('journal')).sort()) text += await readFile(join(dir, f), 'latin1');
    return text;
  };
  const before = await journal();
  await assert.rejects(app.send('q.cpu', [1], { queue: 'oi' }), (err: CeleriacError) => {
    assert.equal(err.code, 'UNKNOWN_QUEUE');
    assert.match(err.message, /send\(q\.cpu\): unknown queue "oi": did you mean "io"\? \(known queues: default, io/);
    return true;
  });
  await assert.rejects(
    app.sendMany('q.cpu', [[1], { args: [2], queue: 'nope' }]),
    (err: CeleriacError) => err.code === 'UNKNOWN_QUEUE' && /sendMany\(q\.cpu\): unknown queue "nope"/.test(err.message),
  );
  await assert.rejects(
    app.send('q.cpu', [1], { queue: 'has space' }),
    (err: CeleriacError) =>
      err.code === 'INVALID_SEND_OPTIONS' && /send\(q\.cpu\): queue: a queue name is 1 to 64 letters.*got "has space"/.test(err.message),
  );
  assert.equal(await journal(), before, 'a refused send wrote nothing');
  assert.equal((await app.list()).jobs.length, 0);
  for (const [queues, message] of [
    [[], /"queues" is empty/],
    [{ io: 0 }, /queues\.io \(its concurrency\) must be an integer ≥ 1, got 0/],
    [['io', 'bad name'], /queues\[1\]: a queue name is/],
    ['io', /"queues" must be a list of queue names/],
  ] as const) {
    await assert.rejects(
      createCeleriac({ dir: join(dir, '..', 'other'), tasks, logger: false, queues: queues as never }),
      (err: CeleriacError) => err.code === 'INVALID_CONFIG' && message.test(err.message),
    );
  }
  assert.throws(
    () => resolveTaskOptions({ queue: '' }, 'task("t") at x.ts:1'),
    (err: CeleriacError) => err.code === 'INVALID_TASK_OPTIONS' && /task\("t"\) at x\.ts:1: queue: a queue name/.test(err.message),
  );
});
