// createCeleriac()'s options: their types and defaults (documented at each), and the
// checks that turn them into settings or refuse them with INVALID_CONFIG naming the option.
import type { ScheduleTable } from '../schedule/app-schedules.js';
import { resolveQueues, type ServedQueues } from '../queues.js';
import { availableParallelism } from 'node:os';
import { CeleriacError } from '../errors.js';
import { MAX_CONCURRENCY } from '../limits.js';
import type { Logger } from '../log.js';
import { durationMs } from '../time.js';

export interface CeleriacOptions {
  /** The data dir: journal, snapshot and lock live here. Required unless `broker` is given. */
  dir?: string;
  /**
   * Keep jobs in BullMQ on this Redis or PostgreSQL instead of the data dir, shared by every
   * host that gives the same broker and queue: `redis://[user:password@]host:6379[/db]`
   * (or rediss://) or `postgres://user[:password]@host:5432/db`. Default: none (the data dir).
   */
  broker?: string;
  /** With `broker`: the BullMQ queue name; hosts with the same broker and queue share jobs. Default `celeriac`. */
  queue?: string;
  /** Task modules: files, or directories searched recursively for .ts/.mts/.js/.mjs. */
  tasks?: string | string[];
  /** Plugin packages whose package.json declares `"celeriac": { "taskImports": "./module.js" }`. */
  plugins?: string[];
  /** Worker threads in the pool. Default: the number of cores. */
  concurrency?: number;
  /** Jobs one worker runs at once (async tasks overlap). Default 1. */
  workerConcurrency?: number;
  /**
   * Jobs reserved ahead of time per worker slot (Celery's prefetch multiplier), held in
   * the host until any slot frees, so that workers never wait for the host between jobs.
   * Default 64. Higher raises throughput of short jobs. Reserved jobs have not begun: a
   * crash does not flag them recovered.
   */
  prefetch?: number;
  /** How long finished jobs and their results are kept (seconds or "1d"). Default 1 day. */
  resultTtl?: number | string;
  /** close(): how long running jobs may take to finish before they are stopped (seconds or "30s"). Default 30 s. */
  shutdownTimeout?: number | string;
  /** After a task's timeout fires its AbortSignal, how long before its worker is terminated. Default 1 s. */
  timeoutGrace?: number | string;
  /** Heap limit per worker thread in MB (worker resourceLimits); a job that exceeds it fails. */
  maxMemoryMb?: number;
  /**
   * How many times a job may take its worker thread down (the task called process.exit(),
   * ran out of memory, or threw from a timer) before it fails for good with code
   * WORKER_LOST (Celery's WorkerLostError); until then it runs again, flagged recovered.
   * Counted within one process. 1: it fails at the first loss. Default 3.
   */
  maxWorkerLosses?: number;
  /** Largest return value (bytes of JSON) a task may produce. Default 16 MiB. */
  maxResultBytes?: number;
  /** Compact the journal into the snapshot after this many bytes. Default 64 MiB. */
  compactAfterBytes?: number;
  /** Resolve relative paths against this directory. Default: process.cwd(). */
  cwd?: string;
  /**
   * Where celeriac reports recoveries, lost workers and (with logJobs) each job; false for
   * silence. A plain logger (`info(message)`) or a pino-style one (`info(fields, message)`,
   * told apart by its `child()` method; pino's type fits Logger). Default: console.
   */
  logger?: Logger | false;
  /** One log line per job event: received, succeeded (with its run time), retried (countdown, reason), failed (error). Default false. */
  logJobs?: boolean;
  /**
   * Hot reload (development): watch the task modules and plugin modules; on a change a new
   * worker generation loads the new code, and running jobs finish on the old one. Default false.
   */
  watch?: boolean;
  /**
   * Start the worker threads inside createCeleriac(), while the journal is read, and run
   * jobs as soon as it resolves: what a worker process wants (the same as calling start()
   * after, only sooner: the threads' start-up overlaps the replay). With many jobs on
   * disk the first ones run while the rest is read. Default false.
   */
  start?: boolean;
  /**
   * Abort the open: the app stops taking work, lets the jobs already running finish (as
   * close() does), and createCeleriac() rejects with APP_CLOSED. For a worker process told
   * to stop while it is still reading a large data dir.
   */
  signal?: AbortSignal;
  /**
   * Periodic schedules by name, besides those task modules declare with schedule(); the
   * task given by name: `{ 'nightly-cleanup': { cron: '0 3 * * *', tz: 'Europe/Berlin',
   * task: 'cleanup' } }`. Names must be unique across both. See "Periodic tasks".
   */
  schedules?: ScheduleTable;
  /**
   * The queues this app runs: names (`['io', 'default']`), or names with a concurrency of
   * their own (`{ io: 8, default: 2 }`: at most that many of the queue's jobs reserved or
   * running at once, within the pool). Jobs of other queues stay pending on disk for an
   * app that runs them. Default: every queue.
   */
  queues?: string[] | Record<string, number>;
}

export const OPTION_KEYS = [
  'dir',
  'broker',
  'queue',
  'tasks',
  'plugins',
  'concurrency',
  'workerConcurrency',
  'prefetch',
  'resultTtl',
  'shutdownTimeout',
  'timeoutGrace',
  'maxMemoryMb',
  'maxWorkerLosses',
  'maxResultBytes',
  'compactAfterBytes',
  'cwd',
  'logger',
  'logJobs',
  'watch',
  'start',
  'signal',
  'schedules',
  'queues',
] as const;

export interface Settings {
  concurrency: number;
  workerConcurrency: number;
  prefetch: number;
  resultTtlMs: number;
  shutdownTimeoutMs: number;
  timeoutGraceMs: number;
  maxMemoryMb: number | undefined;
  maxWorkerLosses: number;
  maxResultBytes: number;
  compactAfterBytes: number;
  watch: boolean;
  queues: ServedQueues | undefined;
}

export function checkLogger(logger: unknown): void {
  if (logger === undefined || logger === false) return;
  const ok =
    logger !== null &&
    typeof logger === 'object' &&
    (['info', 'warn', 'error'] as const).every((m) => typeof (logger as Record<string, unknown>)[m] === 'function');
  if (!ok) {
    const got =
      logger === null
        ? 'null'
        : typeof logger === 'object' || typeof logger === 'function'
          ? `an ${typeof logger} without them`
          : `${typeof logger} ${String(logger)}`;
    throw new CeleriacError(
      'INVALID_CONFIG',
      `createCeleriac(): "logger" must be false or an object with info, warn and error methods (console works), got ${got}`,
    );
  }
}

export function resolveSettings(o: CeleriacOptions): Settings {
  const guard = <T>(fn: () => T): T => {
    try {
      return fn();
    } catch (err) {
      throw new CeleriacError('INVALID_CONFIG', `createCeleriac(): ${(err as Error).message}`);
    }
  };
  const positiveInt = (v: unknown, name: string, dflt: number, max = Number.MAX_SAFE_INTEGER): number => {
    if (v === undefined) return dflt;
    if (!Number.isInteger(v) || (v as number) < 1)
      throw new CeleriacError('INVALID_CONFIG', `createCeleriac(): "${name}" must be an integer ≥ 1, got ${String(v)}`);
    if ((v as number) > max)
      throw new CeleriacError('INVALID_CONFIG', `createCeleriac(): "${name}" must be at most ${max}, got ${String(v)}`);
    return v as number;
  };
  return {
    concurrency: positiveInt(o.concurrency, 'concurrency', Math.min(availableParallelism(), MAX_CONCURRENCY), MAX_CONCURRENCY),
    workerConcurrency: positiveInt(o.workerConcurrency, 'workerConcurrency', 1),
    prefetch: positiveInt(o.prefetch, 'prefetch', 64),
    resultTtlMs: o.resultTtl === undefined ? 86_400_000 : guard(() => durationMs(o.resultTtl, 'resultTtl')),
    shutdownTimeoutMs: o.shutdownTimeout === undefined ? 30_000 : guard(() => durationMs(o.shutdownTimeout, 'shutdownTimeout')),
    timeoutGraceMs: o.timeoutGrace === undefined ? 1000 : guard(() => durationMs(o.timeoutGrace, 'timeoutGrace')),
    maxMemoryMb: o.maxMemoryMb === undefined ? undefined : positiveInt(o.maxMemoryMb, 'maxMemoryMb', 0),
    maxWorkerLosses: positiveInt(o.maxWorkerLosses, 'maxWorkerLosses', 3),
    maxResultBytes: positiveInt(o.maxResultBytes, 'maxResultBytes', 16 * 1024 * 1024),
    compactAfterBytes: positiveInt(o.compactAfterBytes, 'compactAfterBytes', 64 * 1024 * 1024),
    watch: o.watch === true,
    queues: resolveQueues(o.queues, 'createCeleriac()'),
  };
}
