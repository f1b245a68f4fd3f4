// `celeriac schedules` (+ --json) and the worker banner, through the real bin: schedules
// from a task module and from the config, each with its next run (local time and UTC)
// and, once a worker has sent a slot, its last run.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { readJobs } from '../src/admin.js';
import { DIST_INDEX, celeriac, ensureBuilt, exitWithin, explain, json, project, startWorker } from './cli-helpers.js';
import { waitFor } from './helpers.js';

ensureBuilt();

const TASKS = `import { schedule, task } from ${JSON.stringify(DIST_INDEX)};
export const cleanup = task('cleanup', (days) => days);
export const sync = task('sync', () => 'synced');
schedule('nightly-cleanup', { cron: '0 3 * * *', tz: 'Europe/Berlin', task: cleanup, args: [30] });
schedule('fast-sync', { every: 1, task: sync, missed: 'skip' });
`;

interface Listed {
  name: string;
  task: string;
  pattern: string;
  tz: string;
  missed: string;
  lastRun: string | null;
  nextRun: string | null;
  file: string;
  line: number;
}

test('celeriac schedules lists module and config schedules with last and next run; the worker banner lists them; a slot sent shows as the last run', async (t) => {
  const cwd = await project(t, {
    'tasks.js': TASKS,
    'celeriac.config.json': JSON.stringify({
      tasks: 'tasks.js',
      concurrency: 1,
      schedules: { hourly: { cron: '0 * * * *', task: 'sync' } },
    }),
  });
  const before = Date.now();
  const r = await celeriac(t, cwd, ['schedules', '--json']);
  assert.equal(r.code, 0, explain(r));
  const listed = json<{ schedules: Listed[] }>(r).schedules;
  assert.deepEqual(
    listed.map((s) => [s.name, s.task, s.pattern, s.tz, s.missed, s.lastRun]),
    [
      ['nightly-cleanup', 'cleanup', '0 3 * * *', 'Europe/Berlin', 'once', null],
      ['fast-sync', 'sync', 'every 1s', 'UTC', 'skip', null],
      ['hourly', 'sync', '0 * * * *', 'UTC', 'once', null],
    ],
  );
  const nightly = new Date(listed[0]!.nextRun!);
  const berlinHour = Number(
    new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Berlin', hour: '2-digit', hourCycle: 'h23' }).format(nightly),
  );
  assert.equal(berlinHour, 3, `next nightly run ${nightly.toISOString()} is 03:00 in Berlin`);
  assert.ok(nightly.getTime() > before && nightly.getTime() - before <= 25 * 3_600_000, 'within the next day');
  assert.equal(new Date(listed[2]!.nextRun!).getUTCMinutes(), 0);
  assert.equal(listed[0]!.file, join(cwd, 'tasks.js'));
  assert.equal(listed[0]!.line, 4);

  const text = await celeriac(t, cwd, ['schedules']);
  assert.equal(text.code, 0, explain(text));
  assert.match(
    text.stdout,
    /nightly-cleanup\s+cleanup\s+0 3 \* \* \* \(Europe\/Berlin\)\s+once\s+never\s+\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} .*\(\d{4}-\d{2}-\d{2} 0[12]:00:00 UTC\)/,
  );

  const worker = await startWorker(t, cwd);
  assert.match(
    worker.stdout(),
    /\[schedules\]\n {2}\. nightly-cleanup\s+0 3 \* \* \* \(Europe\/Berlin\) → cleanup, next .*UTC\)\n {2}\. fast-sync\s+every 1s → sync, next .*\n {2}\. hourly\s+0 \* \* \* \* → sync, next /,
  );
  const dir = join(cwd, '.celeriac');
  const ran = await waitFor(
    async () => [...(await readJobs(dir)).values()].find((j) => j.id.startsWith('fast-sync@') && j.state === 'succeeded'),
    30_000,
    'a fast-sync slot to run',
  );
  worker.child.kill('SIGTERM');
  assert.equal((await exitWithin(worker, 30_000)).code, 0);
  const jobs = [...(await readJobs(dir)).values()].filter((j) => j.id.startsWith('fast-sync@'));
  assert.ok(jobs.some((j) => j.id === ran.id));
  const newest = jobs
    .map((j) => j.runAt)
    .sort((a, b) => a - b)
    .at(-1)!;
  const after = json<{ schedules: Listed[] }>(await celeriac(t, cwd, ['schedules', '--json'])).schedules;
  assert.equal(after[1]!.lastRun, new Date(newest).toISOString(), 'the last run is the newest slot sent');
  assert.equal(after[0]!.lastRun, null);
});
