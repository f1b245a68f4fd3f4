// Periodic schedules: what a user declares, and the checked form that travels from a
// worker thread (or the config file) to the host.
import type { TaskDefinition } from '../task.js';

/**
 * What happens to slots that passed while nothing was running:
 * - `once`: the latest missed slot runs, once;
 * - `skip`: none runs; the next slot is the next one in the future;
 * - `all`: every missed slot runs, oldest first (at most `maxBackfill` of them, the newest).
 */
export type MissedRuns = 'once' | 'skip' | 'all';

export interface ScheduleOptions<Args extends unknown[] = unknown[]> {
  /** A cron pattern in croner's syntax: 5 fields, or 6 with seconds first. Give `cron` or `every`. */
  cron?: string;
  /**
   * A fixed interval, seconds or "5m", at least 1 s. Slots are its multiples counted
   * from 1970-01-01T00:00:00Z, so every process computes the same ones.
   */
  every?: number | string;
  /**
   * The IANA time zone a cron pattern is read in ("Europe/Berlin"). Only with `cron`.
   * @default 'UTC'
   */
  tz?: string;
  /** The task each slot runs: its definition, or its name. */
  task: TaskDefinition<Args> | string;
  /**
   * The arguments of every slot's job.
   * @default []
   */
  args?: Args;
  /**
   * Slots missed while nothing ran.
   * @default 'once'
   */
  missed?: MissedRuns;
  /**
   * With `missed: 'all'`: how many missed slots at most are run (the newest).
   * @default 100
   */
  maxBackfill?: number;
}

/** A checked schedule: plain data, the same whether it came from a task module or the config. */
export interface ScheduleEntry {
  name: string;
  cron?: string;
  everyMs?: number;
  /** Time zone of `cron` (UTC for `every`). */
  tz: string;
  task: string;
  /** JSON text of the argument array. */
  args: string;
  missed: MissedRuns;
  maxBackfill: number;
  /** Where it was declared: the task module (file:line) or the config file. */
  file: string;
  line: number;
}

/** What `app.schedules` and `celeriac schedules` report for one schedule. */
export interface ScheduleInfo {
  name: string;
  task: string;
  /** The cron pattern, or "every 5m". */
  pattern: string;
  tz: string;
  missed: MissedRuns;
  /** The latest slot sent (or passed over by `skip`); undefined until the first. */
  lastRun: Date | undefined;
  /** The next slot; undefined if the pattern has no future slot. */
  nextRun: Date | undefined;
  file: string;
  line: number;
}
