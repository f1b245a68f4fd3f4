// The slot computation and the sending logic under a controllable clock: 5 time zones ×
// 10 patterns × 2 years, each slot sent exactly once, at the instant croner gives; the
// DST rule on concrete days; ids that every process computes alike.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Cron } from 'croner';
import { checkSchedule } from '../src/schedule/check.js';
import { parseSlotId, slotId } from '../src/schedule/ids.js';
import { PeriodicScheduler } from '../src/schedule/scheduler.js';
import { slotSource } from '../src/schedule/slots.js';
import type { ScheduleEntry } from '../src/schedule/types.js';
import { ManualClock, MemoryMarks } from './schedule/manual-clock.js';

const quiet = { info() {}, warn() {}, error() {} };
const ZONES = ['Europe/Berlin', 'America/New_York', 'Australia/Lord_Howe', 'Pacific/Chatham', 'Asia/Kolkata'];
// Sparse enough for a 2-year sweep (croner takes a fraction of a millisecond per slot):
// daily and hourly patterns only in the months where these zones change their clocks.
const DST_MONTHS = '3,4,9,10,11';
const PATTERNS = [
  `0 3 * ${DST_MONTHS} *`, // daily, just after Berlin's skipped hour
  `30 2 * ${DST_MONTHS} *`, // fixed time inside the DST hours of Berlin and New York
  `*/30 1,2 * ${DST_MONTHS} *`, // interval: both passes of a repeated hour, none of a skipped one
  `15 1,2,3 * ${DST_MONTHS} *`, // a list of hours across the transitions
  '0 0 * * 0', // weekly
  '0 0 1 * *', // monthly
  '0 12 * * 1', // Mondays at noon
  '0 9 L * *', // last day of the month
  '45 23 * * 0',
  '0 2 29 2 *', // leap day only
];
const FROM = Date.parse('2027-01-01T00:00:00Z');
const TO = Date.parse('2029-01-01T00:00:00Z');

function entry(name: string, cron: string, tz: string): ScheduleEntry {
  return checkSchedule(name, { cron, tz, task: 'demo.echo', missed: 'all' }, { file: 'test', line: 1 });
}

/** What croner itself lists, walking forward from `from`. */
function cronerSlots(cron: string, tz: string, from: number, to: number): number[] {
  const c = new Cron(cron, { timezone: tz, paused: true });
  const out: number[] = [];
  for (let d = c.nextRun(new Date(from)); d && d.getTime() <= to; d = c.nextRun(d)) out.push(d.getTime());
  return out;
}

test('5 zones × 10 patterns × 2 years: every slot is sent exactly once, at the instant croner gives', async () => {
  let total = 0;
  for (const tz of ZONES) {
    const clock = new ManualClock(FROM);
    const sent: { id: string; slot: number; at: number; backfill: boolean }[] = [];
    const entries = PATTERNS.map((p, i) => entry(`s${i}`, p, tz));
    const scheduler = new PeriodicScheduler(entries, {
      marks: new MemoryMarks(),
      log: quiet,
      clock,
      send: async (_e, slot, id, backfill) => {
        sent.push({ id, slot, at: clock.now(), backfill });
      },
    });
    await scheduler.start();
    await clock.advanceTo(TO, () => scheduler.settled());
    await scheduler.stop();
    for (const [i, p] of PATTERNS.entries()) {
      const expected = cronerSlots(p, tz, FROM, TO);
      const mine = sent.filter((s) => s.id.startsWith(`s${i}@`));
      assert.deepEqual(
        mine.map((s) => s.slot),
        expected,
        `${tz} "${p}": the slots sent are croner's, in order, each once`,
      );
      assert.deepEqual(
        mine.map((s) => s.id),
        expected.map((t) => slotId(`s${i}`, t)),
        `${tz} "${p}": ids`,
      );
      for (const s of mine) {
        assert.equal(s.at, s.slot, `${tz} "${p}": ${s.id} sent at its instant, not before or after`);
        assert.equal(s.backfill, false, `${tz} "${p}": ${s.id} was on time`);
      }
      total += expected.length;
    }
    assert.equal(new Set(sent.map((s) => s.id)).size, sent.length, `${tz}: no id sent twice`);
  }
  assert.ok(total > 10_000, `a real sweep (${total} slots)`);
});

test('DST: a fixed time in a skipped hour runs once after the gap, in a repeated hour once (its first occurrence); an interval pattern runs both passes of a repeated hour and none of a skipped one', () => {
  const iso = (ms: number[]) => ms.map((t) => new Date(t).toISOString());
  const between = (cron: string, tz: string, from: string, to: string) =>
    iso(slotSource({ cron, tz }).between(Date.parse(from), Date.parse(to), 1000).slots);
  // Berlin, 2027-03-28: 02:00 CET → 03:00 CEST. 02:30 does not exist: 03:00 CEST (01:00Z).
  assert.deepEqual(between('30 2 * * *', 'Europe/Berlin', '2027-03-27T12:00:00Z', '2027-03-28T12:00:00Z'), ['2027-03-28T01:00:00.000Z']);
  // Berlin, 2027-10-31: 03:00 CEST → 02:00 CET. 02:30 happens twice: runs at the first (00:30Z) only.
  assert.deepEqual(between('30 2 * * *', 'Europe/Berlin', '2027-10-30T12:00:00Z', '2027-10-31T12:00:00Z'), ['2027-10-31T00:30:00.000Z']);
  // Interval pattern through the repeated hour: both passes; through the skipped hour: none.
  assert.deepEqual(between('*/30 2 * * *', 'Europe/Berlin', '2027-10-30T12:00:00Z', '2027-10-31T12:00:00Z'), [
    '2027-10-31T00:00:00.000Z',
    '2027-10-31T00:30:00.000Z',
    '2027-10-31T01:00:00.000Z',
    '2027-10-31T01:30:00.000Z',
  ]);
  assert.deepEqual(between('*/30 2 * * *', 'Europe/Berlin', '2027-03-27T12:00:00Z', '2027-03-28T12:00:00Z'), []);
  // Lord Howe moves by 30 minutes (2027-04-04: 02:00 +11 → 01:30 +10:30): 01:45 happens twice.
  assert.deepEqual(between('45 1 * * *', 'Australia/Lord_Howe', '2027-04-03T00:00:00Z', '2027-04-04T06:00:00Z'), [
    '2027-04-03T14:45:00.000Z',
  ]);
  assert.deepEqual(between('*/15 1 * * *', 'Australia/Lord_Howe', '2027-04-03T00:00:00Z', '2027-04-04T06:00:00Z'), [
    '2027-04-03T14:00:00.000Z',
    '2027-04-03T14:15:00.000Z',
    '2027-04-03T14:30:00.000Z',
    '2027-04-03T14:45:00.000Z',
    '2027-04-03T15:00:00.000Z',
    '2027-04-03T15:15:00.000Z',
  ]);
});

test('between() after a long stop: only the newest slots, found without walking every one', () => {
  const src = slotSource({ cron: '* * * * * *', tz: 'UTC' });
  const to = Date.parse('2027-06-01T00:00:00Z');
  const { slots, more } = src.between(to - 365 * 86_400_000, to, 3);
  assert.deepEqual(slots, [to - 2000, to - 1000, to]);
  assert.equal(more, true);
  const every = slotSource({ everyMs: 300_000, tz: 'UTC' });
  assert.deepEqual(every.between(Date.parse('2027-01-01T00:04:59Z'), Date.parse('2027-01-01T00:15:00Z'), 10).slots, [
    Date.parse('2027-01-01T00:05:00Z'),
    Date.parse('2027-01-01T00:10:00Z'),
    Date.parse('2027-01-01T00:15:00Z'),
  ]);
  assert.equal(every.next(Date.parse('2027-01-01T00:05:00Z')), Date.parse('2027-01-01T00:10:00Z'));
});

test('slot ids: the schedule name and the UTC instant, without ":" (BullMQ refuses it), read back', () => {
  const t = Date.parse('2027-03-28T01:00:00Z');
  assert.equal(slotId('nightly-cleanup', t), 'nightly-cleanup@20270328T010000Z');
  assert.equal(slotId('fast', t + 500), 'fast@20270328T010000.500Z');
  assert.deepEqual(parseSlotId('nightly-cleanup@20270328T010000Z'), { name: 'nightly-cleanup', slot: new Date(t) });
  assert.equal(parseSlotId('a-random-uuid'), undefined);
});
