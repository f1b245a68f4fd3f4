// Several hosts on one broker and queue: a cancel reaches the host that runs the job, the
// same id sent by two hosts at once is created once, and the jobs of a host that dies
// (SIGKILL) run again on another, flagged recovered, once their locks lapse.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, test, type TestContext } from 'node:test';
import { createCeleriac, type Celeriac } from '../src/index.js';
import { fixture, readRuns, ROOT, tempDir, waitFor } from './helpers.js';
import { startTestServer } from './servers.js';

const TASKS = [fixture('contract')];
/** Short locks so that a dead host's jobs are found within a second or two (BullMQ's defaults: 30 s). */
const FAST_STALLS = 'lockDuration=1s&stalledInterval=500ms';

// One server for the file (stopped after every app of every test has closed); a queue per test.
const redis = await startTestServer('redis', after, (reason) => test('redis server', (t) => t.skip(reason)));

async function host(t: TestContext, broker: string, queue: string, start: boolean): Promise<Celeriac> {
  const app = await createCeleriac({ broker, queue, tasks: TASKS, logger: false, concurrency: 1, start });
  t.after(() => app.close({ timeout: 1 }));
  return app;
}

test('a cancel made on one host fires the AbortSignal of the job running on another within 500 ms', async (t) => {
  if (!redis) return t.skip('no redis-server here');
  const log = join(await tempDir(t), 'runs.jsonl');
  const runner = await host(t, redis.url, 'cancel', true);
  const other = await host(t, redis.url, 'cancel', false);
  const h = await other.send('contract.wait', [log, 30_000], { id: 'long:1' });
  await waitFor(async () => (await readRuns(log)).some((r) => r.phase === 'start'), 20_000, 'the job to start on the running host');
  const asked = Date.now();
  assert.equal(await other.cancel('long:1'), true);
  const aborted = await waitFor(async () => (await readRuns(log)).find((r) => (r.phase as string) === 'aborted'), 20_000, 'the abort');
  assert.ok(aborted.at - asked < 500, `the AbortSignal fired ${aborted.at - asked} ms after the cancel`);
  await assert.rejects(h.result({ timeout: 20 }), { code: 'JOB_CANCELLED' });
  await assert.rejects((await runner.job('long:1'))!.result({ timeout: 20 }), { code: 'JOB_CANCELLED' });
});

test('the same id sent by two hosts at the same moment is created once', async (t) => {
  if (!redis) return t.skip('no redis-server here');
  const a = await host(t, redis.url, 'dedup', false);
  const b = await host(t, redis.url, 'dedup', false);
  for (let i = 0; i < 20; i++) {
    const [x, y] = await Promise.all([
      a.send('contract.echo', ['from a'], { id: `same:${i}` }),
      b.send('contract.echo', ['from b'], { id: `same:${i}` }),
    ]);
    assert.equal(Number(x.created) + Number(y.created), 1, `id same:${i}: created ${x.created} / ${y.created}`);
    const kept = (await a.get(`same:${i}`))!.args[0];
    assert.equal(kept, x.created ? 'from a' : 'from b');
  }
  assert.equal((await a.counts()).pending, 20);
});

test('SIGKILL of the host running a job: it runs again on another host, flagged recovered, within 5 s', async (t) => {
  if (!redis) return t.skip('no redis-server here');
  const broker = `${redis.url}?${FAST_STALLS}`;
  const log = join(await tempDir(t), 'runs.jsonl');
  const child = spawn(process.execPath, ['--import', 'tsx', fixture('broker-host', 'host.ts'), broker, 'kill'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.after(() => void child.kill('SIGKILL'));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
    child.once('exit', (code) => reject(new Error(`the host exited (${code}) before it was ready`)));
  });
  const survivor = await host(t, broker, 'kill', false);
  const h = await survivor.send('contract.wait', [log, 3000], { id: 'survive:1' });
  await waitFor(
    async () => (await readRuns(log)).some((r) => r.phase === 'start' && (r as { pid?: number }).pid === child.pid),
    20_000,
    'the job to start on the other host',
  );
  child.kill('SIGKILL');
  const killedAt = Date.now();
  await survivor.start();
  const rerun = await waitFor(
    async () => (await readRuns(log)).find((r) => r.phase === 'start' && (r as { pid?: number }).pid === process.pid),
    20_000,
    'the job to run again here',
  );
  assert.equal(rerun.recovered, true);
  assert.ok(rerun.at - killedAt < 5000, `ran again ${rerun.at - killedAt} ms after the kill`);
  assert.equal(await h.result({ timeout: 20 }), 'finished');
  assert.equal((await survivor.get('survive:1'))?.state, 'succeeded');
});
