// Checking a schedule declaration: a clear error naming the schedule and where it was
// declared, before anything is written. Runs in the worker thread for task modules and
// in the host for the config file.
import type * as Croner from 'croner';
import type { Cron } from 'croner';
import { lazyPackage } from '../lazy-package.js';
import { CeleriacError } from '../errors.js';
import { durationMs } from '../time.js';
import { isTaskDefinition } from '../task.js';
import { checkKnownKeys, checkTaskName, isPlainObject, toJson } from '../validate.js';
import type { MissedRuns, ScheduleEntry, ScheduleOptions } from './types.js';

const KEYS = ['cron', 'every', 'tz', 'task', 'args', 'missed', 'maxBackfill'] as const;
const MISSED: readonly MissedRuns[] = ['once', 'skip', 'all'];
export const DEFAULT_MAX_BACKFILL = 100;
/** Shorter intervals would fill the journal faster than a slot is worth. */
const MIN_EVERY_MS = 1000;
const croner = lazyPackage<typeof Croner>('croner');

function invalid(where: string, what: string): CeleriacError {
  return new CeleriacError('INVALID_SCHEDULE', `${where}: ${what}`);
}

/** A time zone name the runtime knows (IANA), or an error. */
function checkTimeZone(tz: unknown, where: string): string {
  if (typeof tz !== 'string' || tz === '')
    throw invalid(where, `tz must be an IANA time zone name such as "Europe/Berlin", got ${JSON.stringify(tz)}`);
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
  } catch {
    throw invalid(
      where,
      `tz "${tz}" is not a time zone this runtime knows: use an IANA name such as "Europe/Berlin" or "America/New_York"`,
    );
  }
  return tz;
}

/** A croner job that only computes instants (never scheduled: no timer). */
export function cronOf(pattern: string, tz: string): Cron {
  return new (croner().Cron)(pattern, { timezone: tz, paused: true });
}

/**
 * The checked form of `schedule(name, options)`. `site` is where it was declared
 * (file:line of the call, or the config file). The task's existence is checked later,
 * where the registry is known.
 */
export function checkSchedule(name: unknown, options: unknown, site: { file: string; line: number }): ScheduleEntry {
  const at = site.line > 0 ? `${site.file}:${site.line}` : site.file;
  const where = `schedule(${JSON.stringify(name)}) at ${at}`;
  try {
    checkTaskName(name, where);
  } catch {
    throw invalid(
      where,
      'invalid schedule name: use dotted identifiers such as "nightly-cleanup" or "reports.hourly" (letters, digits, _ and -; segments separated by dots; at most 200 characters)',
    );
  }
  if (!isPlainObject(options)) throw invalid(where, 'options must be a plain object: { cron or every, task, args?, tz?, missed? }');
  checkKnownKeys(options as object, KEYS, 'INVALID_SCHEDULE', where);
  const o = options as ScheduleOptions;
  const task = isTaskDefinition(o.task) ? o.task.name : o.task;
  if (typeof task !== 'string' || task === '')
    throw invalid(where, `task must be a task definition (from task()) or a task name, got ${typeof o.task}`);
  const argsIn = o.args ?? [];
  if (!Array.isArray(argsIn)) throw invalid(where, `args must be an array of arguments, got ${argsIn === null ? 'null' : typeof argsIn}`);
  const args = toJson(argsIn, 'args');
  if ('problem' in args) throw invalid(where, args.problem);
  const missed = o.missed ?? 'once';
  if (!MISSED.includes(missed))
    throw invalid(where, `missed must be one of ${MISSED.map((m) => `"${m}"`).join(', ')}, got ${JSON.stringify(missed)}`);
  const maxBackfill = o.maxBackfill ?? DEFAULT_MAX_BACKFILL;
  if (!Number.isInteger(maxBackfill) || maxBackfill < 1)
    throw invalid(where, `maxBackfill must be an integer ≥ 1, got ${String(maxBackfill)}`);
  if (o.maxBackfill !== undefined && missed !== 'all')
    throw invalid(where, `maxBackfill only applies to missed: "all" (missed is "${missed}")`);
  const base = { name, task, args: args.json, missed, maxBackfill, file: site.file, line: site.line };
  if ((o.cron === undefined) === (o.every === undefined))
    throw invalid(where, 'give either cron (a pattern such as "0 3 * * *") or every (an interval such as "5m"), not both and not neither');
  if (o.every !== undefined) {
    if (o.tz !== undefined) throw invalid(where, 'tz applies to cron patterns only: an "every" interval counts in UTC from 1970');
    let everyMs: number;
    try {
      everyMs = durationMs(o.every, 'every');
    } catch (err) {
      throw invalid(where, (err as Error).message);
    }
    if (everyMs < MIN_EVERY_MS) throw invalid(where, `every must be at least 1 second, got ${JSON.stringify(o.every)}`);
    if (everyMs % 1000 !== 0)
      throw invalid(where, `every must be a whole number of seconds, got ${JSON.stringify(o.every)} (${everyMs} ms)`);
    return { ...base, everyMs, tz: 'UTC' };
  }
  if (typeof o.cron !== 'string') throw invalid(where, `cron must be a pattern string such as "0 3 * * *", got ${typeof o.cron}`);
  const tz = checkTimeZone(o.tz ?? 'UTC', where);
  let cron: Cron;
  try {
    cron = cronOf(o.cron, tz);
  } catch (err) {
    throw invalid(where, `invalid cron "${o.cron}": ${(err as Error).message}`);
  }
  if (cron.nextRun() === null) throw invalid(where, `cron "${o.cron}" has no future slot (a date that never comes, such as February 30?)`);
  return { ...base, cron: o.cron, tz };
}
