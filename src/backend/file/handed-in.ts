// Jobs written into the inbox by another process (the CLI, createClient): trust nothing
// in them. Each is checked against the tasks loaded now and rebuilt field by field.
import { checkQueueName, DEFAULT_QUEUE } from '../../queues.js';
import { CeleriacError } from '../../errors.js';
import type { NewJob } from '../../jobs.js';
import { checkId, encodeArgs } from '../../send.js';
import { MAX_INSTANT_MS } from '../../time.js';
import type { BackendContext } from '../types.js';

/** A job as the inbox message holds it, rebuilt into one the store accepts, or a CeleriacError saying why not. */
export function checkHandedIn(j: NewJob, index: number, ctx: Pick<BackendContext, 'task' | 'unknownTask'>): NewJob {
  const where = `inbox job #${index}`;
  if (typeof j !== 'object' || j === null) throw new CeleriacError('INVALID_ARGS', `${where} is not an object`);
  const task = ctx.task(j.task);
  if (!task) throw ctx.unknownTask(String(j.task));
  checkId(j.task, j.id);
  if (typeof j.args !== 'string') throw new CeleriacError('INVALID_ARGS', `${where}: args must be the JSON text of an array`);
  let args: unknown;
  try {
    args = JSON.parse(j.args);
  } catch (err) {
    throw new CeleriacError('INVALID_ARGS', `${where}: args is not valid JSON (${(err as Error).message})`);
  }
  const time = (v: unknown, name: string) => {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > MAX_INSTANT_MS) {
      throw new CeleriacError(
        'INVALID_SEND_OPTIONS',
        `${where}: ${name} must be epoch milliseconds within the range of a Date (0 to ${MAX_INSTANT_MS}), got ${JSON.stringify(v)}`,
      );
    }
    return v;
  };
  const job: NewJob = {
    id: j.id,
    task: j.task,
    args: encodeArgs(task, args),
    createdAt: time(j.createdAt, 'createdAt'),
    runAt: time(j.runAt, 'runAt'),
    expiresAt: time(j.expiresAt, 'expiresAt'),
    priority: Number.isInteger(j.priority) ? j.priority : task.priority,
  };
  if (j.maxRetries !== undefined) {
    if (j.maxRetries !== null && !(Number.isInteger(j.maxRetries) && j.maxRetries >= -1))
      throw new CeleriacError('INVALID_SEND_OPTIONS', `${where}: bad maxRetries`);
    // JSON has no Infinity: -1 (or null) stands for no limit.
    job.maxRetries = j.maxRetries === -1 || j.maxRetries === null ? Number.POSITIVE_INFINITY : j.maxRetries;
  }
  if (j.retryDelay !== undefined) job.retryDelay = time(j.retryDelay, 'retryDelay');
  if (j.queue !== undefined && j.queue !== DEFAULT_QUEUE) job.queue = checkQueueName(j.queue, `${where}: queue`, 'INVALID_SEND_OPTIONS');
  return job;
}
