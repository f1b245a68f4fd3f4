// The short schedule kill loop (npm run torture:schedules runs 50 kills): a schedule
// every second, its process SIGKILLed at random moments and restarted: no slot missed
// (missed: 'all'), none sent twice.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { scheduleKills } from './torture/schedule-kills.js';

test('a schedule every second, SIGKILLed 8 times at random moments: 0 slots missed, 0 sent twice', async () => {
  const seed = Date.now() % 2 ** 31;
  const report = await scheduleKills({ kills: 8, seed });
  const why = `seed ${seed}: ${JSON.stringify(report)}`;
  assert.deepEqual(report.violations, [], why);
  assert.deepEqual(report.missed, [], why);
  assert.deepEqual(report.sentTwice, [], why);
  assert.ok(report.slots >= 5, why);
});
