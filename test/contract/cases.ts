// The backend contract: the same cases, unchanged, on the file backend (a data dir), on
// BullMQ over Redis and on BullMQ over PostgreSQL. Each case opens its own apps through
// `where()` (a fresh data dir, or a fresh queue on the suite's server) with the public API
// only, so a difference between backends shows up as a failing case.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { createCeleriac, type Celeriac, type CeleriacOptions } from '../../src/index.js';
import { fixture, readRuns, sleep, tempDir, waitFor } from '../helpers.js';

/** Where a case's jobs live: { dir } or { broker, queue }. The same value opens the same jobs again (restart). */
export type Where = () => Promise<Partial<CeleriacOptions> | undefined>;

const TASKS = fixture('contract');

async function open(t: TestContext, where: Partial<CeleriacOptions>, extra: Partial<CeleriacOptions> = {}): Promise<Celeriac> {
  const app = await createCeleriac({ tasks: [TASKS], logger: false, concurrency: 2, ...where, ...extra });
  t.after(() => app.close({ timeout: 1 }));
  return app;
}

export function contractCases(backend: string, where: Where): void {
  const each = (name: string, fn: (t: TestContext, w: Partial<CeleriacOptions>) => Promise<void>) =>
    test(`${backend}: ${name}`, { timeout: 60_000 }, async (t) => {
      const w = await where();
      if (!w) return t.skip("no server here (see the suite's skip reason)");
      await fn(t, w);
    });

  each('send, then result() and get() give the return value', async (t, w) => {
    const app = await open(t, w, { start: true });
    const h = await app.send('contract.echo', [{ a: [1, 'two'] }]);
    assert.equal(h.created, true);
    assert.deepEqual(await h.result({ timeout: 20 }), { a: [1, 'two'] });
    const info = await app.get(h.id);
    assert.equal(info?.state, 'succeeded');
    assert.deepEqual(info?.result, { a: [1, 'two'] });
    assert.deepEqual(info?.args, [{ a: [1, 'two'] }]);
    assert.equal(await app.send('contract.nothing', []).then((n) => n.result({ timeout: 20 })), undefined);
  });

  each('a task that throws: result() rejects with its error, the job is failed', async (t, w) => {
    const app = await open(t, w, { start: true });
    const h = await app.send('contract.boom', ['no good']);
    await assert.rejects(h.result({ timeout: 20 }), (err: Error & { code?: string; remote?: { name: string; message: string } }) => {
      assert.equal(err.code, 'JOB_FAILED');
      assert.equal(err.remote?.name, 'TypeError');
      assert.equal(err.remote?.message, 'no good');
      return true;
    });
    const info = await app.get(h.id);
    assert.equal(info?.state, 'failed');
    assert.equal(info?.error?.message, 'no good');
  });

  each('retry with new args and a countdown: celeriac counts and decides', async (t, w) => {
    const app = await open(t, w, { start: true });
    const h = await app.send('contract.climb', [0, 0.05]);
    assert.deepEqual(await h.result({ timeout: 20 }), { n: 3, retries: 3 });
    const info = await app.get(h.id);
    assert.equal(info?.retries, 3);
    assert.equal(info?.attempts, 4);
    assert.deepEqual(info?.args, [3, 0.05]);
  });

  each('ETA: a job does not start before its countdown, then runs', async (t, w) => {
    const log = join(await tempDir(t), 'runs.jsonl');
    const app = await open(t, w, { start: true });
    const h = await app.send('contract.stamp', [log, 'later'], { countdown: 0.4 });
    const runAt = (await app.get(h.id))!.runAt!.getTime();
    assert.equal((await app.get(h.id))?.state, 'pending');
    assert.equal(await h.result({ timeout: 20 }), 'later');
    const [run] = await readRuns(log);
    assert.ok(run!.at >= runAt, `started ${runAt - run!.at} ms before its eta`);
  });

  each('expiry is checked before a job runs: expired, never run', async (t, w) => {
    const log = join(await tempDir(t), 'runs.jsonl');
    const app = await open(t, w);
    const h = await app.send('contract.stamp', [log, 'stale'], { expires: 0.2 });
    await sleep(400);
    await app.start();
    await assert.rejects(h.result({ timeout: 20 }), { code: 'JOB_EXPIRED' });
    assert.equal((await app.get(h.id))?.state, 'expired');
    assert.equal(existsSync(log), false, 'the expired job ran');
  });

  each('cancel of a waiting job: never runs, result() rejects, a second cancel is false', async (t, w) => {
    const log = join(await tempDir(t), 'runs.jsonl');
    const app = await open(t, w, { start: true });
    const h = await app.send('contract.stamp', [log, 'never'], { countdown: 30 });
    assert.equal(await app.cancel(h.id), true);
    await assert.rejects(h.result({ timeout: 20 }), { code: 'JOB_CANCELLED' });
    await waitFor(async () => (await app.get(h.id))?.state === 'cancelled', 20_000, 'state cancelled');
    assert.equal(await app.cancel(h.id), false);
    await sleep(300);
    assert.equal(existsSync(log), false, 'the cancelled job ran');
  });

  each('cancel of a running job fires its AbortSignal', async (t, w) => {
    const log = join(await tempDir(t), 'runs.jsonl');
    const app = await open(t, w, { start: true });
    const h = await app.send('contract.wait', [log, 30_000]);
    await waitFor(async () => (await readRuns(log)).some((r) => r.phase === 'start'), 20_000, 'the task to start');
    assert.equal(await app.cancel(h.id), true);
    await assert.rejects(h.result({ timeout: 20 }), { code: 'JOB_CANCELLED' });
    await waitFor(async () => (await readRuns(log)).some((r) => (r.phase as string) === 'aborted'), 20_000, 'the abort');
    await waitFor(async () => (await app.get(h.id))?.state === 'cancelled', 20_000, 'state cancelled');
  });

  each('dedup: a known id creates nothing; ids with ":" and integer-like ids work as given', async (t, w) => {
    const app = await open(t, w, { start: true });
    for (const id of ['order:42', '123', 'x%3Ay', '%N7']) {
      const first = await app.send('contract.echo', [`first ${id}`], { id });
      const second = await app.send('contract.echo', [`second ${id}`], { id });
      assert.equal(first.created, true, id);
      assert.equal(second.created, false, id);
      assert.equal(await second.result({ timeout: 20 }), `first ${id}`);
      const info = await app.get(id);
      assert.equal(info?.id, id);
      assert.deepEqual(info?.args, [`first ${id}`]);
    }
  });

  each('priorities: higher runs first, equal ones in send order', async (t, w) => {
    const log = join(await tempDir(t), 'runs.jsonl');
    const app = await open(t, w, { concurrency: 1, prefetch: 1 });
    const sends: [string, number][] = [
      ['low', 0],
      ['high', 5],
      ['mid', 2],
      ['neg', -3],
      ['mid2', 2],
      ['top', 1_000_000],
    ];
    for (const [label, priority] of sends) await app.send('contract.stamp', [log, label], { priority });
    await app.start();
    await waitFor(async () => (await readRuns(log)).length === sends.length, 20_000, 'all jobs to run');
    const ran = (await readRuns(log)).map((r) => r.label);
    const expected = ['top', 'high', 'mid', 'mid2', 'low', 'neg'];
    if (backend !== 'postgres') assert.deepEqual(ran, expected);
    else {
      // BullMQ on PostgreSQL fetches a worker's jobs in concurrent transactions (slots +
      // prefetch of them, 2 here): a job whose fetch is slow starts after the job fetched
      // beside it, and after the one fetched next if that fetch returns first (README).
      assert.deepEqual([...ran].sort(), [...expected].sort());
      for (const label of expected)
        assert.ok(Math.abs(ran.indexOf(label) - expected.indexOf(label)) <= 2, `${label} ran out of priority order: ${ran.join(', ')}`);
      assert.ok(ran.indexOf('top') < 2, `the best job is fetched first, beside one other: ${ran.join(', ')}`);
    }
  });

  each('restart: jobs sent before a close run after the next open, with their ids', async (t, w) => {
    const first = await open(t, w);
    const h = await first.send('contract.echo', ['kept'], { id: 'kept:1' });
    await first.close();
    const second = await open(t, w, { start: true });
    assert.equal((await second.get('kept:1'))?.task, 'contract.echo');
    assert.equal(await (await second.job(h.id))!.result({ timeout: 20 }), 'kept');
  });

  each('events: listeners hear received, started and succeeded, in that order', async (t, w) => {
    const app = await open(t, w);
    const heard: string[] = [];
    for (const type of ['received', 'started', 'succeeded'] as const) app.on(type, (e) => e.id === 'ev:1' && heard.push(type));
    await app.send('contract.echo', ['e'], { id: 'ev:1' });
    await app.start();
    await waitFor(() => heard.length === 3, 20_000, 'three events');
    assert.deepEqual(heard, ['received', 'started', 'succeeded']);
  });

  each('schedules: slots missed while down run marked as backfills in context(); slots on time do not', async (t, w) => {
    const schedules = { tick: { every: 1, task: 'contract.slot', missed: 'all' as const } };
    const slotJobs = async (app: Celeriac) => (await app.list({ limit: 500 })).jobs.filter((j) => j.id.startsWith('tick@'));
    const first = await open(t, w, { start: true, schedules });
    await waitFor(async () => (await slotJobs(first)).length > 0, 20_000, 'a slot sent on time');
    await first.close();
    const downFrom = Date.now();
    await sleep(3_000);
    const second = await open(t, w, { start: true, schedules });
    const upAt = Date.now();
    // Every slot while down (a whole second after the first app closed, a whole second before this one opened) is a backfill.
    const seen = await waitFor(
      async () => {
        const jobs = await slotJobs(second);
        if (!jobs.some((j) => j.runAt !== undefined && j.runAt.getTime() > upAt + 1000)) return undefined;
        return jobs.every((j) => j.state === 'succeeded') ? jobs : undefined;
      },
      30_000,
      'slot jobs after the restart, all run',
    );
    const results = seen.map((j) => ({ id: j.id, ...(j.result as { name: string; slot: number; backfill: boolean }) }));
    for (const r of results) {
      assert.equal(r.name, 'tick', r.id);
      assert.equal(r.id, `tick@${new Date(r.slot).toISOString().replace(/[-:]/g, '').replace('.000Z', 'Z')}`);
    }
    const down = results.filter((r) => r.slot > downFrom + 1000 && r.slot < upAt - 1000);
    assert.ok(down.length >= 1, `slots missed while down: ${JSON.stringify(results)}`);
    assert.ok(
      down.every((r) => r.backfill),
      `each missed slot is a backfill: ${JSON.stringify(down)}`,
    );
    // Each tick's newest slot is on time.
    assert.ok(
      results.some((r) => r.slot > upAt && !r.backfill),
      `slots after the restart run on time: ${JSON.stringify(results)}`,
    );
    assert.equal(await (await second.send('contract.slot', [])).result({ timeout: 20 }), null, 'an ordinary job has no schedule');
  });
}

/** A fresh data dir per case. */
export async function fileWhere(t: { after(fn: () => Promise<void>): void }): Promise<Partial<CeleriacOptions>> {
  const { mkdtemp, rm } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const root = await mkdtemp(join(tmpdir(), 'celeriac-contract-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  return { dir: join(root, 'data') };
}
