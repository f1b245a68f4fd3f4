// task(): a named, validated task definition. Importing a task module only creates
// definitions; the worker threads run them, the host only ever sees their manifest.
import { callSite, ownFile } from './call-site.js';
import { CeleriacError } from './errors.js';
import { durationMs, instantMs, timerMs } from './time.js';
import { parseRateLimit, type RateLimit } from './rate-limit-spec.js';
import { checkQueueName, DEFAULT_QUEUE } from './queues.js';
import { signature, type Signature } from './workflows/canvas.js';
import { checkKnownKeys, checkTaskName, isPlainObject } from './validate.js';
import type { JobHandle, SendManyItem, SendOptions } from './send-types.js';

/** Which errors a task retries by itself: an Error class, an error name or code, or a predicate. */
export type ErrorMatcher = (abstract new (...args: never[]) => Error) | string | ((err: unknown) => boolean);

export interface TaskOptions {
  /**
   * Retries allowed before the job fails (Celery's max_retries); Infinity for no limit.
   * @default 3
   */
  maxRetries?: number;
  /**
   * Countdown of a retry that names none (Celery's default_retry_delay): seconds or "3m".
   * @default 180
   */
  retryDelay?: number | string;
  /**
   * Abort the task after this long (seconds or "5m", at most 24.8 days): its AbortSignal
   * fires, then its worker is terminated.
   * @default none (no time limit)
   */
  timeout?: number | string;
  /**
   * Retry automatically on these errors (Celery's autoretry_for).
   * @default []
   */
  autoretryFor?: ErrorMatcher[];
  /**
   * Exponential backoff for automatic retries: true (factor 1 s) or the factor (seconds, or "500ms").
   * @default false (every automatic retry waits retryDelay)
   */
  retryBackoff?: boolean | number | string;
  /**
   * Cap of the backoff countdown (seconds or "10m").
   * @default 600
   */
  retryBackoffMax?: number | string;
  /**
   * Randomize backoff countdowns in [0, countdown] (full jitter).
   * @default true
   */
  retryJitter?: boolean;
  /**
   * Default priority of this task's jobs (higher runs first).
   * @default 0
   */
  priority?: number;
  /**
   * Default expiry of this task's jobs, counted from send (seconds or "1h").
   * @default none (never expires)
   */
  expires?: number | string;
  /**
   * Most starts of this task's jobs per second, minute or hour in this app: "10/s",
   * "100/m", "1000/h" (Celery's rate_limit). Jobs over it wait their turn; they are never
   * failed or dropped. Starts are spaced evenly (a job every 100 ms at "10/s").
   * @default none (no limit)
   */
  rateLimit?: string;
  /**
   * The queue this task's jobs go to unless a send names another (see createCeleriac's `queues`).
   * @default 'default'
   */
  queue?: string;
}

const TASK_OPTION_KEYS = [
  'maxRetries',
  'retryDelay',
  'timeout',
  'autoretryFor',
  'retryBackoff',
  'retryBackoffMax',
  'retryJitter',
  'priority',
  'expires',
  'rateLimit',
  'queue',
] as const;

/** Task options with every duration in milliseconds and every default filled in. */
export interface ResolvedTaskOptions {
  maxRetries: number;
  retryDelayMs: number;
  timeoutMs: number;
  autoretryFor: ErrorMatcher[];
  backoffFactorMs: number;
  backoffMaxMs: number;
  jitter: boolean;
  priority: number;
  expiresMs: number;
  rateLimit: RateLimit | undefined;
  queue: string;
}

export const DEFAULT_MAX_RETRIES = 3;
export const DEFAULT_RETRY_DELAY_MS = 180_000;

export interface RetryOptions<Args extends unknown[]> {
  /** The error that caused the retry: the job's error if retries run out. */
  exc?: unknown;
  /** How long to wait: seconds, or a string such as "500ms" or "3m". Default: the task's retryDelay. */
  countdown?: number | string;
  /** Run at this time instead. */
  eta?: Date | string | number;
  /**
   * The retry limit for this retry only (as Celery's `max_retries` argument): if the job's
   * retries so far reach it, the job fails now. Later retries that give none use the
   * job's `maxRetries` send option, else the task's.
   */
  maxRetries?: number;
  /** Run the retry with these arguments instead. */
  args?: Args;
}

const RETRY_BRAND = Symbol.for('celeriac.retry');
const TASK_BRAND = Symbol.for('celeriac.task');

/** Thrown from a task to reschedule it: `throw myTask.retry({ exc: err, countdown: 60 })`. */
export class RetryRequest extends Error {
  readonly [RETRY_BRAND] = true;
  readonly exc: unknown;
  readonly countdownMs: number | undefined;
  readonly etaMs: number | undefined;
  readonly maxRetries: number | undefined;
  readonly args: unknown[] | undefined;
  constructor(task: string, opts: RetryOptions<unknown[]>) {
    super(`retry of ${task} requested${opts.exc instanceof Error ? `: ${opts.exc.message}` : ''}`);
    this.name = 'RetryRequest';
    this.exc = opts.exc;
    this.countdownMs = opts.countdown === undefined ? undefined : durationMs(opts.countdown, `${task}.retry(): countdown`);
    this.etaMs = opts.eta === undefined ? undefined : instantMs(opts.eta, `${task}.retry(): eta`);
    if (opts.maxRetries !== undefined) checkMaxRetries(opts.maxRetries, `${task}.retry(): maxRetries`);
    this.maxRetries = opts.maxRetries;
    if (opts.args !== undefined && !Array.isArray(opts.args)) {
      throw new CeleriacError('INVALID_ARGS', `${task}.retry(): args must be an array of arguments`);
    }
    this.args = opts.args;
  }
}

export function isRetryRequest(value: unknown): value is RetryRequest {
  try {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[RETRY_BRAND] === true;
  } catch {
    return false; // a Proxy whose traps throw: whatever it is, not a retry request
  }
}

/** Anything that can send a job: the app. Declared here so task definitions need not import it. */
export interface TaskSender {
  send<Args extends unknown[], Result>(def: TaskDefinition<Args, Result>, args: Args, options?: SendOptions): Promise<JobHandle<Result>>;
}

export interface TaskDefinition<Args extends unknown[] = any[], Result = unknown, Name extends string = string> {
  readonly [TASK_BRAND]: true;
  readonly name: Name;
  readonly options: Readonly<ResolvedTaskOptions>;
  readonly fn: (...args: Args) => Result | Promise<Result>;
  /** Where task() was called: file and line. */
  readonly file: string;
  readonly line: number;
  /** Build the error to throw from inside the task to reschedule it. */
  retry(options?: RetryOptions<Args>): RetryRequest;
  /** A signature for workflows (Celery's `.s()`): in a chain, the previous result is prepended to these arguments. */
  s(...args: unknown[]): Signature;
  /** Send a job of this task with type-checked arguments. */
  send(app: TaskSender, args: Args, options?: SendOptions): Promise<JobHandle<Awaited<Result>>>;
}

export type TaskArgs<D> = D extends TaskDefinition<infer A, unknown> ? A : never;
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- argument lists are contravariant: only `any` matches them all
export type TaskResult<D> = D extends TaskDefinition<any, infer R> ? Awaited<R> : never;

/** What send() takes after the task: the task's own argument types for a definition, any list for a name. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see TaskResult
export type SendRest<T> =
  T extends TaskDefinition<infer A, any> ? [args: A, options?: SendOptions] : [args?: unknown[], options?: SendOptions];
/** sendMany()'s list: argument lists (or `{ args, ...options }`) typed by the definition, any for a name. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see TaskResult
export type SendManyArgs<T> = readonly SendManyItem<T extends TaskDefinition<infer A, any> ? A : unknown[]>[];
/** The result type of a job of T: the definition's, else the one named (`send<Result>('name')`). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see TaskResult
export type SentResult<T, R> = T extends TaskDefinition<any, infer X> ? Awaited<X> : R;

export function isTaskDefinition(value: unknown): value is TaskDefinition {
  return typeof value === 'function' || (typeof value === 'object' && value !== null)
    ? (value as Record<symbol, unknown>)[TASK_BRAND] === true
    : false;
}

const DEFINITIONS = Symbol.for('celeriac.definitions');
type DefinitionLog = { [DEFINITIONS]?: TaskDefinition[] };

/** Every definition created in this thread so far (the worker reads it after importing modules). */
export function definedTasks(): TaskDefinition[] {
  return ((globalThis as DefinitionLog)[DEFINITIONS] ??= []);
}

export function task<Args extends unknown[], Result, const Name extends string = string>(
  name: Name,
  fn: (...args: Args) => Result,
): TaskDefinition<Args, Awaited<Result>, Name>;
export function task<Args extends unknown[], Result, const Name extends string = string>(
  name: Name,
  options: TaskOptions,
  fn: (...args: Args) => Result,
): TaskDefinition<Args, Awaited<Result>, Name>;
export function task(name: string, a: unknown, b?: unknown): TaskDefinition {
  const site = callSite(OWN_FILE);
  const where = `task("${String(name)}") at ${site.file}:${site.line}`;
  checkTaskName(name, where);
  const options = (b === undefined ? {} : a) as TaskOptions;
  const fn = (b === undefined ? a : b) as (...args: unknown[]) => unknown;
  if (typeof fn !== 'function') {
    throw new CeleriacError('INVALID_TASK_OPTIONS', `${where}: the last argument must be the task function, got ${typeof fn}`);
  }
  const resolved = resolveTaskOptions(options, where);
  const def: TaskDefinition = {
    [TASK_BRAND]: true,
    name,
    options: resolved,
    fn,
    file: site.file,
    line: site.line,
    retry: (opts = {}) => new RetryRequest(name, opts as RetryOptions<unknown[]>),
    send: (app, args, opts) => app.send(def, args, opts) as Promise<JobHandle<unknown>>,
    s: (...args) => signature(name, args),
  };
  definedTasks().push(def);
  return def;
}

function checkMaxRetries(value: unknown, what: string): void {
  if (!(value === Number.POSITIVE_INFINITY || (Number.isInteger(value) && (value as number) >= 0))) {
    throw new CeleriacError('INVALID_TASK_OPTIONS', `${what} must be an integer ≥ 0 or Infinity, got ${String(value)}`);
  }
}

export function resolveTaskOptions(given: TaskOptions, where: string): ResolvedTaskOptions {
  const options: TaskOptions = given;
  if (!isPlainObject(given)) throw new CeleriacError('INVALID_TASK_OPTIONS', `${where}: options must be a plain object`);
  checkKnownKeys(options, TASK_OPTION_KEYS, 'INVALID_TASK_OPTIONS', where);
  const guard = <T>(fn: () => T): T => {
    try {
      return fn();
    } catch (err) {
      if (err instanceof CeleriacError) throw err;
      throw new CeleriacError('INVALID_TASK_OPTIONS', `${where}: ${(err as Error).message}`);
    }
  };
  if (options.maxRetries !== undefined) checkMaxRetries(options.maxRetries, `${where}: maxRetries`);
  const autoretryFor = options.autoretryFor ?? [];
  if (!Array.isArray(autoretryFor) || autoretryFor.some((m) => typeof m !== 'function' && typeof m !== 'string')) {
    throw new CeleriacError(
      'INVALID_TASK_OPTIONS',
      `${where}: autoretryFor must be an array of Error classes, error names/codes, or predicates`,
    );
  }
  const backoff = options.retryBackoff ?? false;
  const backoffFactorMs = typeof backoff === 'boolean' ? (backoff ? 1000 : 0) : guard(() => durationMs(backoff, 'retryBackoff'));
  if (typeof backoff !== 'boolean' && !(backoffFactorMs > 0)) {
    throw new CeleriacError('INVALID_TASK_OPTIONS', `${where}: retryBackoff must be true/false or a factor > 0 (seconds, or "500ms")`);
  }
  const priority = options.priority ?? 0;
  if (!Number.isInteger(priority)) throw new CeleriacError('INVALID_TASK_OPTIONS', `${where}: priority must be an integer`);
  if (options.retryJitter !== undefined && typeof options.retryJitter !== 'boolean') {
    throw new CeleriacError('INVALID_TASK_OPTIONS', `${where}: retryJitter must be true or false`);
  }
  return {
    maxRetries: options.maxRetries ?? DEFAULT_MAX_RETRIES,
    retryDelayMs: options.retryDelay === undefined ? DEFAULT_RETRY_DELAY_MS : guard(() => durationMs(options.retryDelay, 'retryDelay')),
    timeoutMs: options.timeout === undefined ? 0 : guard(() => timerMs(options.timeout, 'timeout')),
    autoretryFor,
    backoffFactorMs,
    backoffMaxMs: options.retryBackoffMax === undefined ? 600_000 : guard(() => durationMs(options.retryBackoffMax, 'retryBackoffMax')),
    jitter: options.retryJitter ?? true,
    priority,
    expiresMs: options.expires === undefined ? 0 : guard(() => durationMs(options.expires, 'expires')),
    rateLimit: options.rateLimit === undefined ? undefined : parseRateLimit(options.rateLimit, where),
    queue: options.queue === undefined ? DEFAULT_QUEUE : checkQueueName(options.queue, `${where}: queue`, 'INVALID_TASK_OPTIONS'),
  };
}

// How this very module appears in stack traces: frames from here are skipped when looking for task()'s caller.
const OWN_FILE = new Set([ownFile()]);
