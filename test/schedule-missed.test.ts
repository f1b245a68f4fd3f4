// Slots missed while nothing ran, against a real app and its data dir under an injected
// clock: 10 minutes down with a per-minute schedule sends 1 job (once), 0 (skip) or 10
// (all, oldest first); the marks survive a new scheduler (a restart). Bad declarations
// fail the open with a clear error, and nothing is written.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { createCeleriac, type Celeriac } from '../src/index.js';
import { loadConfig } from '../src/config.js';
import { schedulerFor } from '../src/schedule/app-schedules.js';
import { checkSchedule } from '../src/schedule/check.js';
import { readMarksReadOnly, type MarkStore } from '../src/schedule/marks.js';
import type { MissedRuns } from '../src/schedule/types.js';
import { fixture, openApp, tempDir } from './helpers.js';
import { ManualClock } from './schedule/manual-clock.js';

const quiet = { info() {}, warn() {}, error() {} };
/** The app's own mark store: its backend (durable in the data dir's journal). */
const marksOf = (app: Celeriac): MarkStore => (app as unknown as { backend: MarkStore }).backend;
const MIN = 60_000;
const T0 = Date.parse('2027-01-01T00:00:30Z');

async function slotJobs(app: Celeriac): Promise<{ id: string; runAt: string | undefined }[]> {
  const page = await app.list({ limit: 1000 });
  return page.jobs
    .filter((j) => j.id.startsWith('minutely@'))
    .map((j) => ({ id: j.id, runAt: j.runAt?.toISOString() }))
    .sort((a, b) => a.id.localeCompare(b.id));
}

/** One scheduler run from `from` to `to` on the app's data dir (a process that was up then). */
async function runUp(app: Celeriac, missed: MissedRuns, clock: ManualClock, to: number): Promise<void> {
  const entry = checkSchedule('minutely', { cron: '* * * * *', task: 'demo.echo', args: ['tick'], missed }, { file: 'test', line: 1 });
  const scheduler = schedulerFor(app, [entry], marksOf(app), quiet, clock);
  await scheduler.start();
  await clock.advanceTo(to, () => scheduler.settled());
  await scheduler.stop();
}

const EXPECTED: Record<MissedRuns, string[]> = {
  once: ['00:11'],
  skip: [],
  all: ['00:02', '00:03', '00:04', '00:05', '00:06', '00:07', '00:08', '00:09', '00:10', '00:11'],
};

for (const missed of ['once', 'skip', 'all'] as const) {
  test(`10 minutes down with a per-minute schedule, missed: "${missed}" → ${EXPECTED[missed].length} job(s) for the missed slots`, async (t) => {
    const app = await openApp(t);
    const clock = new ManualClock(T0);
    // Up until 00:01:45: the 00:01 slot is sent on time.
    await runUp(app, missed, clock, T0 + 75_000); // until 00:01:45
    assert.deepEqual(
      (await slotJobs(app)).map((j) => j.id),
      ['minutely@20270101T000100Z'],
    );
    // Down for 10 minutes (00:02 … 00:11 pass), then up again until just before 00:12.
    clock.set(T0 + 11 * MIN + 15_000);
    await runUp(app, missed, clock, T0 + 11 * MIN + 20_000);
    const after = (await slotJobs(app)).filter((j) => j.id !== 'minutely@20270101T000100Z');
    const hhmm = (m: string) => `minutely@20270101T${m.replace(':', '')}00Z`;
    assert.deepEqual(
      after.map((j) => j.id),
      EXPECTED[missed].map(hhmm),
    );
    // Each job runs at its slot's instant (its eta), whenever it was sent.
    for (const j of after) assert.equal(j.runAt, `2027-01-01T${j.id.slice(18, 20)}:${j.id.slice(20, 22)}:00.000Z`);
    // Up again: the next slot, 00:12, is sent on time, and nothing before it again.
    await runUp(app, missed, clock, T0 + 12 * MIN);
    assert.deepEqual((await slotJobs(app)).map((j) => j.id).slice(-1), [hhmm('00:12')]);
    assert.equal((await slotJobs(app)).length, 1 + EXPECTED[missed].length + 1);
  });
}

test('missed: "all" runs at most maxBackfill slots (the newest) after a long stop', async (t) => {
  const app = await openApp(t);
  const clock = new ManualClock(T0);
  const entry = checkSchedule(
    'minutely',
    { cron: '* * * * *', task: 'demo.echo', args: ['x'], missed: 'all', maxBackfill: 3 },
    { file: 'test', line: 1 },
  );
  const warnings: string[] = [];
  const log = { ...quiet, warn: (m: string) => warnings.push(m) };
  let scheduler = schedulerFor(app, [entry], marksOf(app), log, clock);
  await scheduler.start();
  await scheduler.stop();
  clock.set(T0 + 30 * 24 * 60 * MIN); // a month down
  scheduler = schedulerFor(app, [entry], marksOf(app), log, clock);
  await scheduler.start();
  await scheduler.stop();
  assert.deepEqual(
    (await slotJobs(app)).map((j) => j.id),
    ['minutely@20270130T235800Z', 'minutely@20270130T235900Z', 'minutely@20270131T000000Z'],
  );
  assert.match(warnings.join('\n'), /more than 3 slots were missed; the 3 newest run \(maxBackfill\)/);
});

test('a changed cron starts afresh from its next slot: the slots of the new pattern before the change are not owed', async (t) => {
  const app = await openApp(t);
  const clock = new ManualClock(T0);
  const marks = marksOf(app);
  const hourly = checkSchedule('minutely', { cron: '0 * * * *', task: 'demo.echo', args: ['x'], missed: 'all' }, { file: 'test', line: 1 });
  let scheduler = schedulerFor(app, [hourly], marks, quiet, clock);
  await scheduler.start();
  await scheduler.stop();
  clock.set(T0 + 10 * MIN);
  const minutely = checkSchedule(
    'minutely',
    { cron: '* * * * *', task: 'demo.echo', args: ['x'], missed: 'all' },
    { file: 'test', line: 1 },
  );
  scheduler = schedulerFor(app, [minutely], marks, quiet, clock);
  await scheduler.start();
  assert.deepEqual(await slotJobs(app), [], 'no backfill of the new pattern');
  await clock.advanceTo(T0 + 11 * MIN, () => scheduler.settled());
  await scheduler.stop();
  assert.deepEqual(
    (await slotJobs(app)).map((j) => j.id),
    ['minutely@20270101T001100Z'],
  );
});

// --- bad input: clear errors at load, nothing written ------------------------------

async function assertNothingWritten(t: import('node:test').TestContext, dir: string): Promise<void> {
  assert.equal((await readMarksReadOnly(dir)).size, 0, 'no marks written');
  const app = await createCeleriac({ dir, tasks: [fixture('basic')], logger: false, concurrency: 1 });
  t.after(() => app.close({ timeout: 1 }));
  assert.equal((await app.list()).jobs.length, 0, 'no job written');
}

test("bad input in a task module: invalid cron (croner's message, the schedule name, file:line), unknown task (nearest name), duplicate names (both files)", async (t) => {
  const cases: [string, RegExp][] = [
    [
      'bad-cron',
      /schedule\("sched\.nightly"\) at .*schedules\/bad-cron\/tasks\.ts:4: invalid cron "0 61 \* \* \*": CronPattern: Invalid value for hour: 61/,
    ],
    [
      'unknown-task',
      /schedule\("sched\.nightly"\) at .*schedules\/unknown-task\/tasks\.ts:4: unknown task "sched\.clenaup": did you mean "sched\.cleanup"\?/,
    ],
    ['dup', /schedule name "sched\.twice" is declared twice: .*schedules\/dup\/a\.ts:4 and .*schedules\/dup\/b\.ts:3/],
  ];
  for (const [name, message] of cases) {
    const dir = join(await tempDir(t), 'data');
    await assert.rejects(
      createCeleriac({ dir, tasks: [fixture('schedules', name)], logger: false, concurrency: 1 }),
      (err: Error & { code?: string }) => {
        assert.equal(err.code, 'INVALID_SCHEDULE', name);
        assert.match(err.message, message);
        return true;
      },
    );
    await assertNothingWritten(t, dir);
  }
});

test('bad input in the "schedules" option: a time zone that does not exist, every of 0 or negative, an unknown task, a name used by a module too', async (t) => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [
      { nightly: { cron: '0 3 * * *', tz: 'Europe/Atlantis', task: 'demo.echo', args: ['x'] } },
      /schedule\("nightly"\) at createCeleriac\(\) option "schedules": tz "Europe\/Atlantis" is not a time zone this runtime knows/,
    ],
    [{ often: { every: 0, task: 'demo.echo', args: ['x'] } }, /schedule\("often"\) .*every must be at least 1 second, got 0/],
    [
      { often: { every: -5, task: 'demo.echo', args: ['x'] } },
      /schedule\("often"\) .*every must be a finite number of seconds ≥ 0, got -5/,
    ],
    [
      { often: { every: '-5m', task: 'demo.echo', args: ['x'] } },
      /schedule\("often"\) .*every must be seconds \(a number\) or a duration like "500ms", "30s", "5m"; got "-5m"/,
    ],
    [
      { nightly: { cron: '0 3 * * *', task: 'demo.ecko', args: ['x'] } },
      /schedule\("nightly"\) at createCeleriac\(\) option "schedules": unknown task "demo\.ecko": did you mean "demo\.echo"\?/,
    ],
    [
      { nightly: { cron: '0 3 * * *', task: 'demo.echo', args: [] } },
      /schedule\("nightly"\) .*demo\.echo\(message\) takes 1 argument, got 0/,
    ],
    [
      { 'sched.every-second': { every: '1h', task: 'sched.tick', args: ['x'] } },
      /schedule name "sched\.every-second" is declared twice: .*every-second\/tasks\.ts:5 and createCeleriac\(\) option "schedules"/,
    ],
  ];
  for (const [schedules, message] of cases) {
    const dir = join(await tempDir(t), 'data');
    await assert.rejects(
      createCeleriac({
        dir,
        tasks: [fixture('basic'), fixture('schedules', 'every-second')],
        logger: false,
        concurrency: 1,
        schedules: schedules as never,
      }),
      (err: Error & { code?: string }) => {
        assert.equal(err.code, 'INVALID_SCHEDULE', JSON.stringify(schedules));
        assert.match(err.message, message);
        return true;
      },
    );
    await assertNothingWritten(t, dir);
  }
});

test('bad input in celeriac.config.*: the error names the config file and the schedule', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'celeriac.config.json');
  await writeFile(
    file,
    JSON.stringify({ tasks: 'tasks', schedules: { nightly: { cron: '0 3 * * *', tz: 'Mars/Olympus', task: 'demo.echo' } } }),
  );
  await assert.rejects(loadConfig({ cwd: dir }), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'INVALID_SCHEDULE');
    assert.match(
      err.message,
      new RegExp(`schedule\\("nightly"\\) at ${file.replace(/[.]/g, '\\.')} \\("schedules"\\): tz "Mars/Olympus" is not a time zone`),
    );
    return true;
  });
  await writeFile(file, JSON.stringify({ schedules: { nightly: { cron: '0 3 * * *', task: 'demo.echo', missed: 'sometimes' } } }));
  await assert.rejects(loadConfig({ cwd: dir }), /missed must be one of "once", "skip", "all", got "sometimes"/);
});
