// Turning a send() call into a job record, or into a clear error before anything is
// written: unknown task (with the nearest known name), arguments JSON cannot carry,
// times that make no sense.
import { CeleriacError } from './errors.js';
import type { NewJob } from './jobs.js';
import { randomJobId } from './job-id.js';
import { checkArgCount } from './registry/task-errors.js';
import type { TaskManifestEntry } from './registry/types.js';
import { SEND_OPTION_KEYS, type SendOptions } from './send-types.js';
import { durationMs, instantMs, isDurationString } from './time.js';
import { checkQueueName, DEFAULT_QUEUE } from './queues.js';
import { checkKnownKeys, isPlainObject, toJson } from './validate.js';

const MAX_ID = 200;

function optionError(task: string, err: unknown): CeleriacError {
  return new CeleriacError('INVALID_SEND_OPTIONS', `send(${task}): ${(err as Error).message}`);
}

/** Validate options once per call (shared by every job of a sendMany). Returns a factory of job records. */
export function jobFactory(task: TaskManifestEntry, options: SendOptions | undefined, now: number): (args: string, id?: string) => NewJob {
  const o = options ?? {};
  if (!isPlainObject(o)) throw new CeleriacError('INVALID_SEND_OPTIONS', `send(${task.name}): options must be a plain object`);
  checkKnownKeys(o, SEND_OPTION_KEYS, 'INVALID_SEND_OPTIONS', `send(${task.name})`);
  let runAt = 0;
  try {
    if (o.countdown !== undefined && o.eta !== undefined) throw new Error('give either countdown or eta, not both');
    if (o.countdown !== undefined) runAt = now + durationMs(o.countdown, 'countdown');
    if (o.eta !== undefined) runAt = instantMs(o.eta, 'eta');
  } catch (err) {
    throw optionError(task.name, err);
  }
  let expiresAt = task.expiresMs > 0 ? now + task.expiresMs : 0;
  try {
    if (o.expires !== undefined) {
      expiresAt =
        typeof o.expires === 'number' || isDurationString(o.expires)
          ? now + durationMs(o.expires, 'expires (seconds from now)')
          : instantMs(o.expires, 'expires');
      if (expiresAt <= now) throw new Error(`expires is already past (${new Date(expiresAt).toISOString()}): the job could never run`);
    }
  } catch (err) {
    throw optionError(task.name, err);
  }
  if (expiresAt && runAt && expiresAt <= runAt) {
    throw optionError(
      task.name,
      new Error(
        `expires (${new Date(expiresAt).toISOString()}) is not after the eta (${new Date(runAt).toISOString()}): the job could never run`,
      ),
    );
  }
  const priority = o.priority ?? task.priority;
  if (!Number.isInteger(priority) || Math.abs(priority) > 1e9)
    throw optionError(task.name, new Error(`priority must be an integer, got ${String(priority)}`));
  if (o.maxRetries !== undefined && !(o.maxRetries === Number.POSITIVE_INFINITY || (Number.isInteger(o.maxRetries) && o.maxRetries >= 0))) {
    throw optionError(task.name, new Error(`maxRetries must be an integer ≥ 0 or Infinity, got ${String(o.maxRetries)}`));
  }
  let retryDelay: number | undefined;
  try {
    if (o.retryDelay !== undefined) retryDelay = durationMs(o.retryDelay, 'retryDelay');
  } catch (err) {
    throw optionError(task.name, err);
  }
  if (o.id !== undefined) checkId(task.name, o.id);
  const queue = o.queue === undefined ? task.queue : checkQueueName(o.queue, `send(${task.name}): queue`, 'INVALID_SEND_OPTIONS');
  return (args, id) => {
    const job: NewJob = { id: id ?? o.id ?? randomJobId(), task: task.name, args, createdAt: now, runAt, expiresAt, priority };
    if (o.maxRetries !== undefined) job.maxRetries = o.maxRetries;
    if (retryDelay !== undefined) job.retryDelay = retryDelay;
    if (queue !== undefined && queue !== DEFAULT_QUEUE) job.queue = queue;
    return job;
  };
}

export function checkId(task: string, id: unknown): asserts id is string {
  // eslint-disable-next-line no-control-regex
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_ID || /[\u0000-\u001f\u007f]/.test(id)) {
    throw new CeleriacError(
      'INVALID_SEND_OPTIONS',
      `send(${task}): id must be a non-empty string of at most ${MAX_ID} printable characters, got ${JSON.stringify(id)}`,
    );
  }
}

/** The JSON text of an argument list, or a clear error naming the argument that cannot be sent. */
export function encodeArgs(task: string | TaskManifestEntry, args: unknown, path = 'args', caller = 'send'): string {
  const name = typeof task === 'string' ? task : task.name;
  if (!Array.isArray(args)) {
    throw new CeleriacError(
      'INVALID_ARGS',
      `${caller}(${name}): ${path} must be an array of arguments, got ${args === null ? 'null' : typeof args}; to pass one value, wrap it: [value]`,
    );
  }
  if (typeof task !== 'string') checkArgCount(task, args, caller, path);
  const out = toJson(args, path);
  if ('problem' in out) throw new CeleriacError('INVALID_ARGS', `${caller}(${name}): ${out.problem}`);
  return out.json;
}

export interface ManyJobs {
  /** One job per item, in order. */
  jobs: NewJob[];
  /** `fresh[i]`: job i's id was drawn at random (the caller chose none), so no dedup applies to it. */
  fresh: boolean[];
}

/**
 * The jobs of a sendMany, or a clear error naming the item at fault (nothing is written
 * then). An item is an argument list, or `{ args, ...options }` whose options apply over
 * the shared ones.
 */
export function manyJobs(task: TaskManifestEntry, items: unknown, options: SendOptions | undefined, now: number): ManyJobs {
  const where = `sendMany(${task.name})`;
  if (!Array.isArray(items))
    throw new CeleriacError('INVALID_ARGS', `${where}: expected an array of argument arrays (or of { args, ...options })`);
  if (isPlainObject(options) && 'id' in (options as object)) {
    throw new CeleriacError('INVALID_SEND_OPTIONS', `${where}: "id" cannot be shared by many jobs: give each job its own, as { args, id }`);
  }
  const factory = (o: SendOptions | undefined, item: string) => {
    try {
      return jobFactory(task, o, now);
    } catch (err) {
      if (err instanceof CeleriacError) throw new CeleriacError(err.code, err.message.replace(`send(${task.name}): `, `${where}: ${item}`));
      throw err;
    }
  };
  const shared = factory(options, '');
  const jobs: NewJob[] = new Array(items.length);
  const fresh: boolean[] = new Array(items.length);
  for (let i = 0; i < items.length; i++) {
    const item: unknown = items[i];
    if (Array.isArray(item)) {
      jobs[i] = shared(encodeArgs(task, item, `argsList[${i}]`, 'sendMany'));
      fresh[i] = true;
      continue;
    }
    if (!isPlainObject(item)) {
      throw new CeleriacError(
        'INVALID_ARGS',
        `${where}: argsList[${i}] must be an argument array or { args, ...options }, got ${item === null ? 'null' : typeof item}`,
      );
    }
    const { args, ...own } = item as { args?: unknown };
    const ownOptions = own as SendOptions;
    const make = factory({ ...options, ...ownOptions }, `argsList[${i}]: `);
    jobs[i] = make(encodeArgs(task, args, `argsList[${i}].args`, 'sendMany'));
    fresh[i] = ownOptions.id === undefined;
  }
  return { jobs, fresh };
}
