// The `schedules` option (createCeleriac() or the config file) checked. Apart from the
// scheduler (app-schedules.ts): the options are checked before the first thread starts,
// and a quick start without schedules should not load the scheduler then.
import { CeleriacError } from '../errors.js';
import { isPlainObject } from '../validate.js';
import { checkSchedule } from './check.js';
import type { ScheduleEntry, ScheduleOptions } from './types.js';

/** Schedules given to createCeleriac() (or in the config file) by name; their task by name. */
export type ScheduleTable = Record<string, ScheduleOptions & { task: string }>;

/** The `schedules` option checked, or an error naming the option (`at`: where it was given) and the schedule. */
export function optionSchedules(given: unknown, at: { label: string; place: string }): ScheduleEntry[] {
  if (given === undefined) return [];
  if (!isPlainObject(given))
    throw new CeleriacError(
      'INVALID_CONFIG',
      `${at.label} must be an object of schedules by name: { "nightly-cleanup": { cron: "0 3 * * *", task: "cleanup" } }`,
    );
  return Object.entries(given as object).map(([name, options]) => checkSchedule(name, options, { file: at.place, line: 0 }));
}
