// context().schedule: a slot job knows its schedule, its slot and whether it is a
// backfill (a slot missed while nothing ran); an ordinary job, even one whose id looks
// like a slot's, has none. The fact is kept with the job, so it holds after a restart.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Celeriac } from '../src/index.js';
import { schedulerFor } from '../src/schedule/app-schedules.js';
import { checkSchedule } from '../src/schedule/check.js';
import type { MarkStore } from '../src/schedule/marks.js';
import { fixture, openApp, tempDir, waitFor } from './helpers.js';
import { ManualClock } from './schedule/manual-clock.js';

const quiet = { info() {}, warn() {}, error() {} };
const marksOf = (app: Celeriac): MarkStore => (app as unknown as { backend: MarkStore }).backend;
const MIN = 60_000;
const tasks = [fixture('schedules/context')];

async function resultOf(app: Celeriac, id: string): Promise<unknown> {
  const info = await waitFor(
    async () => {
      const j = await app.get(id);
      return j && ['succeeded', 'failed'].includes(j.state) ? j : undefined;
    },
    20_000,
    `job ${id} to finish`,
  );
  assert.equal(info.state, 'succeeded', JSON.stringify(info.error));
  return info.result;
}

test('missed: "all" — the caught-up slots run as backfills, the next on-time slot not; kept across a restart', async (t) => {
  const dir = join(await tempDir(t), 'data');
  // Slots in the recent past, so that their jobs (eta = the slot) run at once.
  const t0 = Math.floor(Date.now() / MIN) * MIN - 20 * MIN + 30_000;
  const entry = checkSchedule('minutely', { cron: '* * * * *', task: 'sched.where', missed: 'all' }, { file: 'test', line: 1 });
  const clock = new ManualClock(t0);
  const slotId = (m: number) => `minutely@${new Date(t0 - 30_000 + m * MIN).toISOString().replace(/[-:]/g, '').replace('.000Z', 'Z')}`;
  // The sending process does not run jobs: they run after the restart below.
  const sender = await openApp(t, { dir, tasks, start: false });
  const up = async (to: number) => {
    const s = schedulerFor(sender, [entry], marksOf(sender), quiet, clock);
    await s.start();
    await clock.advanceTo(to, () => s.settled());
    await s.stop();
  };
  await up(t0 + MIN); // the slot +1 on time
  clock.set(t0 + 4 * MIN); // down while +2, +3 and +4 pass
  await up(t0 + 5 * MIN); // catches up +2…+4, then +5 on time
  await sender.close();

  const app = await openApp(t, { dir, tasks, start: true });
  const seen = [];
  for (const m of [1, 2, 3, 4, 5]) seen.push(await resultOf(app, slotId(m)));
  const slot = (m: number) => new Date(t0 - 30_000 + m * MIN).toISOString();
  assert.deepEqual(seen, [
    { name: 'minutely', slot: slot(1), backfill: false },
    { name: 'minutely', slot: slot(2), backfill: true },
    { name: 'minutely', slot: slot(3), backfill: true },
    { name: 'minutely', slot: slot(4), backfill: true },
    { name: 'minutely', slot: slot(5), backfill: false },
  ]);

  // An ordinary job: no schedule, even with an id of a slot's shape.
  const plain = await app.send('sched.where', []);
  assert.equal(await plain.result({ timeout: 20 }), null);
  const lookalike = await app.send('sched.where', [], { id: 'minutely@20270101T000000Z', eta: Date.now() });
  assert.equal(await lookalike.result({ timeout: 20 }), null);
});
