// `celeriac worker` and signals: SIGTERM (or one SIGINT) is a warm shutdown — the running
// job finishes, exit 0; a second SIGINT is a cold shutdown — the job is aborted, stays
// pending, and runs again (flagged recovered) at the next start.
import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { celeriac, ensureBuilt, exitWithin, explain, importTask, json, project, startWorker, waitFile } from './cli-helpers.js';

before(() => ensureBuilt());

// Writes <marker>.<attempt> when it starts, then sleeps `ms` — ignoring its AbortSignal on
// purpose, so that only terminating its worker (cold shutdown) can stop it. A recovered
// run returns at once.
const SLOW_JS = `${importTask('context, task')}import { writeFileSync } from 'node:fs';

export const slow = task('work.slow', async (marker, ms) => {
  const c = context();
  writeFileSync(marker + '.' + c.attempt, String(Date.now()));
  if (c.recovered) return { recovered: true, attempt: c.attempt };
  await new Promise((resolve) => setTimeout(resolve, ms));
  return { recovered: false, attempt: c.attempt };
});
`;

async function slowProject(t: Parameters<typeof project>[0]): Promise<string> {
  return project(t, {
    'celeriac.config.json': JSON.stringify({ dir: 'data', tasks: ['tasks'], concurrency: 1, prefetch: 1 }),
    'tasks/slow.js': SLOW_JS,
  });
}

describe('celeriac worker signals', { concurrency: 2 }, () => {
  test('SIGTERM during a running job: warm shutdown, the job finishes, exit 0', async (t) => {
    const cwd = await slowProject(t);
    const worker = await startWorker(t, cwd, ['--shutdown-timeout', '30']);
    const marker = join(cwd, 'started');
    const sent = await celeriac(t, cwd, ['send', 'work.slow', JSON.stringify([marker, 2500]), '--id', 'term']);
    assert.equal(sent.code, 0, explain(sent));
    await waitFile(`${marker}.1`);
    const signalled = Date.now();
    worker.child.kill('SIGTERM');
    const exit = await exitWithin(worker, 40_000);
    assert.equal(exit.code, 0, `exit ${exit.code}/${exit.signal}\n${worker.stdout()}\n${worker.stderr()}`);
    assert.match(worker.stdout(), /SIGTERM: warm shutdown — finishing running jobs/);
    assert.match(worker.stdout(), /worker stopped/);
    const show = await celeriac(t, cwd, ['show', 'term', '--json']);
    const job = json(show);
    assert.equal(job.state, 'succeeded', explain(show));
    assert.deepEqual(job.result, { recovered: false, attempt: 1 });
    const finished = Date.parse(job.finishedAt);
    assert.ok(exit.at >= finished, 'the worker exited after the job finished');
    t.diagnostic(
      `SIGTERM → exit: ${exit.at - signalled} ms (the job needed ~${Math.max(0, finished - signalled)} ms more; exit ${exit.at - finished} ms after it finished)`,
    );
  });

  test('SIGINT twice during a long job: cold shutdown, exit 0; the job is pending and recovers at the next start', async (t) => {
    const cwd = await slowProject(t);
    const worker = await startWorker(t, cwd, ['--shutdown-timeout', '60']);
    const marker = join(cwd, 'started');
    const sent = await celeriac(t, cwd, ['send', 'work.slow', JSON.stringify([marker, 120_000]), '--id', 'cold']);
    assert.equal(sent.code, 0, explain(sent));
    await waitFile(`${marker}.1`);
    const signalled = Date.now();
    worker.child.kill('SIGINT');
    await worker.waitOutput(/SIGINT: warm shutdown/, 10_000);
    worker.child.kill('SIGINT');
    const exit = await exitWithin(worker, 30_000);
    assert.equal(exit.code, 0, `exit ${exit.code}/${exit.signal}\n${worker.stdout()}\n${worker.stderr()}`);
    assert.match(worker.stdout(), /SIGINT: cold shutdown — aborting running jobs; they run again at the next start/);
    t.diagnostic(`SIGINT, SIGINT → exit: ${exit.at - signalled} ms`);

    // Stopped: the job is on record, waiting to run again.
    const stopped = json(await celeriac(t, cwd, ['show', 'cold', '--json']));
    assert.equal(stopped.state, 'pending', JSON.stringify(stopped));
    assert.equal(stopped.attempts, 1);

    // The next start runs it again, flagged recovered.
    const burst = await celeriac(t, cwd, ['worker', '--burst'], { timeoutMs: 60_000 });
    assert.equal(burst.code, 0, explain(burst));
    assert.match(burst.stdout, /--- jobs: +1 pending/, explain(burst));
    const show = await celeriac(t, cwd, ['show', 'cold', '--json']);
    const job = json(show);
    assert.equal(job.state, 'succeeded', explain(show));
    assert.equal(job.recovered, true);
    assert.equal(job.attempts, 2);
    assert.deepEqual(job.result, { recovered: true, attempt: 2 });
  });
});
