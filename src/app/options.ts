// createCeleriac()'s options in one table: each option's type and doc (CeleriacOptions),
// its check, its default, whether a config file may set it and the CLI flag that sets it.
// The app, the config file loader (src/config.ts) and the CLI (src/cli/) all derive from it.
import { availableParallelism } from 'node:os';
import { checkQueueName, parseBrokerUrl } from '../backend/bullmq/broker-url.js';
import { CeleriacError } from '../errors.js';
import { MAX_CONCURRENCY } from '../limits.js';
import type { Logger } from '../log.js';
import { parseQueuesFlag, resolveQueues, type ServedQueues } from '../queues.js';
import { optionSchedules, type ScheduleTable } from '../schedule/option-schedules.js';
import {
  boolean,
  duration,
  invalid,
  nonEmptyString,
  pathOrPaths,
  positiveInt,
  codeSite,
  stringList,
  type Check,
  type OptionSite,
} from './option-checks.js';

export interface CeleriacOptions {
  /** The data dir: journal, snapshot and lock live here. Required unless `broker` is given. */
  dir?: string;
  /**
   * Keep jobs in BullMQ on this Redis or PostgreSQL instead of the data dir, shared by every
   * host that gives the same broker and queue: `redis://[user:password@]host:6379[/db]`
   * (or rediss://) or `postgres://user[:password]@host:5432/db`.
   * @default none (the data dir)
   */
  broker?: string;
  /**
   * With `broker`: the BullMQ queue name; hosts with the same broker and queue share jobs.
   * @default 'celeriac'
   */
  queue?: string;
  /**
   * Task modules: files, or directories searched recursively for .ts/.mts/.js/.mjs.
   * @default []
   */
  tasks?: string | string[];
  /**
   * Plugin packages whose package.json declares `"celeriac": { "taskImports": "./module.js" }`.
   * @default []
   */
  plugins?: string[];
  /**
   * Worker threads in the pool, at most 256.
   * @default the number of cores, at most 256
   */
  concurrency?: number;
  /**
   * Jobs one worker runs at once (async tasks overlap).
   * @default 1
   */
  workerConcurrency?: number;
  /**
   * Jobs reserved ahead of time per worker slot (Celery's prefetch multiplier), held in
   * the host until any slot frees, so that workers never wait for the host between jobs.
   * Higher raises throughput of short jobs. Reserved jobs have not begun: a crash does not
   * flag them recovered.
   * @default 64
   */
  prefetch?: number;
  /**
   * How long finished jobs and their results are kept (seconds or "1d").
   * @default 86400 (1 day)
   */
  resultTtl?: number | string;
  /**
   * close(): how long running jobs may take to finish before they are stopped (seconds or "30s").
   * @default 30
   */
  shutdownTimeout?: number | string;
  /**
   * After a task's timeout fires its AbortSignal, how long before its worker is terminated (seconds or "500ms").
   * @default 1
   */
  timeoutGrace?: number | string;
  /**
   * Heap limit per worker thread in MB (worker resourceLimits); a job that exceeds it fails.
   * @default none (Node's own limit)
   */
  maxMemoryMb?: number;
  /**
   * How many times a job may take its worker thread down (the task called process.exit(),
   * ran out of memory, or threw from a timer) before it fails for good with code
   * WORKER_LOST (Celery's WorkerLostError); until then it runs again, flagged recovered.
   * Counted within one process. 1: it fails at the first loss. Also how many threads in a
   * row may die while importing the task modules before the pool stops replacing them.
   * @default 3
   */
  maxWorkerLosses?: number;
  /**
   * Largest return value (bytes of JSON) a task may produce.
   * @default 16777216 (16 MiB)
   */
  maxResultBytes?: number;
  /**
   * Compact the journal into the snapshot after this many bytes.
   * @default 67108864 (64 MiB)
   */
  compactAfterBytes?: number;
  /**
   * Resolve relative paths against this directory.
   * @default process.cwd()
   */
  cwd?: string;
  /**
   * Where celeriac reports recoveries, lost workers and (with logJobs) each job; false for
   * silence. A plain logger (`info(message)`) or a pino-style one (`info(fields, message)`,
   * told apart by its `child()` method; pino's type fits Logger).
   * @default console
   */
  logger?: Logger | false;
  /**
   * One log line per job event: received, succeeded (with its run time), retried (countdown, reason), failed (error).
   * @default false
   */
  logJobs?: boolean;
  /**
   * Hot reload (development): watch the task modules and plugin modules; on a change a new
   * worker generation loads the new code, and running jobs finish on the old one.
   * @default false
   */
  watch?: boolean;
  /**
   * Start the worker threads inside createCeleriac(), while the journal is read, and run
   * jobs as soon as it resolves: what a worker process wants (the same as calling start()
   * after, only sooner: the threads' start-up overlaps the replay). With many jobs on
   * disk the first ones run while the rest is read.
   * @default false
   */
  start?: boolean;
  /**
   * Abort the open: the app stops taking work, lets the jobs already running finish (as
   * close() does), and createCeleriac() rejects with APP_CLOSED. For a worker process told
   * to stop while it is still reading a large data dir.
   * @default none
   */
  signal?: AbortSignal;
  /**
   * Periodic schedules by name, besides those task modules declare with schedule(); the
   * task given by name: `{ 'nightly-cleanup': { cron: '0 3 * * *', tz: 'Europe/Berlin',
   * task: 'cleanup' } }`. Names must be unique across both. See "Periodic tasks".
   * @default {}
   */
  schedules?: ScheduleTable;
  /**
   * The queues this app runs: names (`['io', 'default']`), or names with a concurrency of
   * their own (`{ io: 8, default: 2 }`: at most that many of the queue's jobs reserved or
   * running at once, within the pool). Jobs of other queues stay pending on disk for an
   * app that runs them.
   * @default every queue
   */
  queues?: string[] | Record<string, number>;
}

/** The `celeriac` flag that sets an option (its value goes through the option's check). */
export interface OptionFlag {
  /** The long name, without the dashes: `result-ttl`. */
  name: string;
  short?: string;
  /** The value's placeholder in --help (`N`, `S`); none: a switch, which only ever sets true. */
  arg?: string;
  /** Given once per value: the values make the list. */
  multiple?: true;
  /** Taken by `celeriac worker` only; the others by every command. */
  workerOnly?: true;
  /** The --help line (lines), without the default: that comes from the table. */
  help: string;
  /** Left out, the flag takes the config file's value (then the default): --help says so. */
  fromConfig?: true;
  /** The flag's default where the CLI's differs from the option's: the data dir `.celeriac` beside the config file. */
  cliDefault?: string;
  /** The flag's text as the option's value, before the check. Default: the text. */
  parse?(text: string): unknown;
}

/** One row of the table. */
export interface OptionSpec<Value, Resolved> {
  /** Checks a given value and returns what the app uses (a duration in ms, a parsed URL). */
  check: Check<Resolved>;
  /** The value when the option is left out (what the option's @default says); none: the option stays unset. */
  default?: Value;
  /** How --help and the docs say the default, when it is not the value itself. */
  defaultHelp?: string;
  /** A config file may set it (the rest are objects of the process: a logger, a signal). */
  inFile: boolean;
  flag?: OptionFlag;
}

/** A flag's number as a number; text that is none stays text, for the check to refuse. */
const number = (text: string): unknown => (/^\s*$/.test(text) || Number.isNaN(Number(text)) ? text : Number(text));

const logger: Check<Logger | false> = (value, at) => {
  if (value === false) return false;
  const methods = ['info', 'warn', 'error'] as const;
  if (value !== null && typeof value === 'object' && methods.every((m) => typeof (value as Record<string, unknown>)[m] === 'function'))
    return value as Logger;
  const got =
    value === null
      ? 'null'
      : typeof value === 'object' || typeof value === 'function'
        ? `an ${typeof value} without them`
        : `${typeof value} ${String(value)}`;
  return invalid({ ...at, shown: got }, 'must be false or an object with info, warn and error methods (console works)', value);
};

const abortSignal: Check<AbortSignal> = (value, at) => {
  if (value instanceof AbortSignal) return value;
  throw new CeleriacError('INVALID_CONFIG', `${at.label} must be an AbortSignal (from an AbortController)`);
};

/** Every option of createCeleriac(), in the order messages list them. */
export const OPTIONS = {
  dir: {
    check: nonEmptyString,
    inFile: true,
    flag: { name: 'dir', short: 'd', arg: 'DIR', help: 'data dir', fromConfig: true, cliDefault: '.celeriac' },
  },
  broker: {
    check: (v, at) => parseBrokerUrl(v, at.where),
    inFile: true,
    flag: { name: 'broker', arg: 'URL', help: 'keep jobs in BullMQ on redis://… or postgres://… instead', fromConfig: true },
  },
  queue: {
    check: (v, at) => checkQueueName(v, at.where),
    default: 'celeriac',
    inFile: true,
    flag: { name: 'queue', arg: 'NAME', help: 'with --broker: the BullMQ queue', fromConfig: true },
  },
  tasks: {
    check: pathOrPaths,
    default: [],
    inFile: true,
    flag: {
      name: 'tasks',
      short: 't',
      arg: 'PATH',
      multiple: true,
      help: `task module file or directory (repeatable; replaces the config's "tasks")`,
    },
  },
  plugins: {
    check: stringList,
    default: [],
    inFile: true,
    flag: { name: 'plugin', short: 'p', arg: 'NAME', multiple: true, help: `plugin package (repeatable; replaces the config's "plugins")` },
  },
  concurrency: {
    check: positiveInt(MAX_CONCURRENCY),
    get default() {
      return Math.min(availableParallelism(), MAX_CONCURRENCY);
    },
    defaultHelp: `the number of cores, at most ${MAX_CONCURRENCY}`,
    inFile: true,
    flag: { name: 'concurrency', arg: 'N', workerOnly: true, help: 'worker threads', parse: number },
  },
  workerConcurrency: {
    check: positiveInt(),
    default: 1,
    inFile: true,
    flag: { name: 'worker-concurrency', arg: 'N', workerOnly: true, help: 'jobs one worker runs at once', parse: number },
  },
  prefetch: {
    check: positiveInt(),
    default: 64,
    inFile: true,
    flag: { name: 'prefetch', arg: 'N', workerOnly: true, help: 'jobs reserved ahead per slot', parse: number },
  },
  resultTtl: {
    check: duration,
    default: 86_400,
    inFile: true,
    flag: { name: 'result-ttl', arg: 'SECONDS', workerOnly: true, help: 'keep finished jobs this long', parse: number },
  },
  shutdownTimeout: {
    check: duration,
    default: 30,
    inFile: true,
    flag: { name: 'shutdown-timeout', arg: 'S', workerOnly: true, help: 'warm shutdown grace period', parse: number },
  },
  timeoutGrace: { check: duration, default: 1, inFile: true },
  maxMemoryMb: {
    check: positiveInt(),
    inFile: true,
    flag: { name: 'max-memory-mb', arg: 'MB', workerOnly: true, help: 'heap limit per worker thread', parse: number },
  },
  maxWorkerLosses: { check: positiveInt(), default: 3, inFile: true },
  maxResultBytes: { check: positiveInt(), default: 16 * 1024 * 1024, inFile: true },
  compactAfterBytes: { check: positiveInt(), default: 64 * 1024 * 1024, inFile: true },
  cwd: {
    check: nonEmptyString,
    get default() {
      return process.cwd();
    },
    inFile: false,
  },
  logger: { check: logger, inFile: false },
  logJobs: { check: boolean, default: false, inFile: false },
  watch: {
    check: boolean,
    default: false,
    inFile: true,
    flag: { name: 'watch', short: 'w', workerOnly: true, help: 'reload task modules when they change (development)' },
  },
  start: { check: boolean, default: false, inFile: false },
  signal: { check: abortSignal, inFile: false },
  schedules: { check: (v, at) => optionSchedules(v, at), inFile: true },
  queues: {
    check: (v, at) => resolveQueues(v, at.where) as ServedQueues,
    defaultHelp: 'every queue',
    inFile: true,
    flag: {
      name: 'queues',
      short: 'Q',
      arg: 'LIST',
      workerOnly: true,
      help: 'run only these queues: io,default, or with a concurrency each:\nio:8,default:2',
      parse: parseQueuesFlag,
    },
  },
} satisfies { [K in keyof CeleriacOptions]-?: OptionSpec<CeleriacOptions[K], unknown> };

export type OptionKey = keyof typeof OPTIONS;

export const OPTION_KEYS = Object.keys(OPTIONS) as OptionKey[];

/** The options only code can give (objects of the process, or what a worker sets itself): not in a config file. */
export type CodeOnlyOptionKey = { [K in OptionKey]: (typeof OPTIONS)[K]['inFile'] extends false ? K : never }[OptionKey];

/** What an option resolves to: its check's result, or undefined for an option without a default left out. */
export type Resolved<K extends OptionKey> =
  | ReturnType<(typeof OPTIONS)[K]['check']>
  | ((typeof OPTIONS)[K] extends { default: unknown } ? never : undefined);

/** An option's value checked (`at`: where it was given, for the error), or its default's. */
export function checkOption<K extends OptionKey>(key: K, value: unknown, at: OptionSite): Resolved<K> {
  const spec: OptionSpec<unknown, unknown> = OPTIONS[key];
  const given = value === undefined ? spec.default : value;
  return (given === undefined ? undefined : spec.check(given, at)) as Resolved<K>;
}

/** createCeleriac()'s option `key` checked, or its default. */
export function resolveOption<K extends OptionKey>(o: CeleriacOptions, key: K): Resolved<K> {
  return checkOption(key, o[key], codeSite(key));
}

/** What --help says an option (or its flag) defaults to; undefined: nothing to say (no default, an empty list). */
export function defaultHelp(key: OptionKey): string | undefined {
  const spec: OptionSpec<unknown, unknown> = OPTIONS[key];
  const own =
    spec.flag?.cliDefault ??
    spec.defaultHelp ??
    (spec.default === undefined || (Array.isArray(spec.default) && spec.default.length === 0) ? undefined : String(spec.default));
  if (!spec.flag?.fromConfig) return own;
  return `"${key}" from the config${own === undefined ? '' : `, else ${own}`}`;
}

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

export function resolveSettings(o: CeleriacOptions): Settings {
  return {
    concurrency: resolveOption(o, 'concurrency'),
    workerConcurrency: resolveOption(o, 'workerConcurrency'),
    prefetch: resolveOption(o, 'prefetch'),
    resultTtlMs: resolveOption(o, 'resultTtl'),
    shutdownTimeoutMs: resolveOption(o, 'shutdownTimeout'),
    timeoutGraceMs: resolveOption(o, 'timeoutGrace'),
    maxMemoryMb: resolveOption(o, 'maxMemoryMb'),
    maxWorkerLosses: resolveOption(o, 'maxWorkerLosses'),
    maxResultBytes: resolveOption(o, 'maxResultBytes'),
    compactAfterBytes: resolveOption(o, 'compactAfterBytes'),
    watch: resolveOption(o, 'watch'),
    queues: resolveOption(o, 'queues'),
  };
}
