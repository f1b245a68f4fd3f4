// schedule(): a periodic schedule declared in a task module, next to its task. Like
// task(), it only records a checked declaration; the worker thread that imports the
// module reports it to the host, which sends the slots.
import { callSite, ownFile } from '../call-site.js';
import { checkSchedule } from './check.js';
import type { ScheduleEntry, ScheduleOptions } from './types.js';

const SCHEDULES = Symbol.for('celeriac.schedules');
type ScheduleLog = { [SCHEDULES]?: ScheduleEntry[] };

/** Every schedule declared in this thread so far (the worker reads it after importing modules). */
export function definedSchedules(): ScheduleEntry[] {
  return ((globalThis as ScheduleLog)[SCHEDULES] ??= []);
}

const OWN_FILE = new Set([ownFile()]);

/**
 * Run `task` periodically: `schedule('nightly-cleanup', { cron: '0 3 * * *', tz:
 * 'Europe/Berlin', task: cleanup, args: [30] })` or `{ every: '5m', task: 'sync' }`.
 * Bad input throws here, naming the schedule and this call's file:line.
 */
export function schedule<Args extends unknown[]>(name: string, options: ScheduleOptions<Args>): Readonly<ScheduleEntry> {
  const entry = checkSchedule(name, options, callSite(OWN_FILE));
  definedSchedules().push(entry);
  return Object.freeze(entry);
}
