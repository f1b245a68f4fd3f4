// How a job record is shown to callers: JobInfo objects and the settled result.
import { CeleriacError, TaskFailedError } from './errors.js';
import type { JobRecord } from './jobs.js';
import type { JobInfo } from './send-types.js';
import { DEFAULT_QUEUE } from './queues.js';

/** A finished job's result() as a promise: fulfilled with its result or rejected with its error. */
export function outcomeOf(job: JobRecord): Promise<unknown> {
  try {
    return Promise.resolve(finalValue(job));
  } catch (err) {
    return Promise.reject(err);
  }
}

/** What result() gives for a finished job: its result, or throws the error it rejects with. */
export function finalValue(job: JobRecord): unknown {
  switch (job.state) {
    case 'succeeded':
      return job.result === undefined ? undefined : JSON.parse(job.result);
    case 'failed':
      throw new TaskFailedError(job.id, job.task, job.error ?? { name: 'Error', message: 'failed' });
    case 'cancelled':
      throw new CeleriacError('JOB_CANCELLED', `job ${job.id} (${job.task}) was cancelled`);
    case 'expired':
      throw new CeleriacError('JOB_EXPIRED', `job ${job.id} (${job.task}) expired before it could start`);
    default:
      throw new Error(`job ${job.id} has not finished`);
  }
}

/** A job as callers see it; `args` is its args' JSON text when the record left them on disk (read them with argsText()). */
export function jobInfo(job: JobRecord, args = job.args): JobInfo {
  if (typeof args !== 'string') throw new Error(`job ${job.id}: its args are on disk; read them with argsText() first`);
  const info: JobInfo = {
    id: job.id,
    task: job.task,
    args: JSON.parse(args) as unknown[],
    state: job.state,
    attempts: job.attempts,
    retries: job.retries,
    priority: job.priority,
    queue: job.queue ?? DEFAULT_QUEUE,
    recovered: job.recovered,
    createdAt: new Date(job.createdAt),
  };
  if (job.runAt) info.runAt = new Date(job.runAt);
  if (job.expiresAt) info.expiresAt = new Date(job.expiresAt);
  if (job.startedAt !== undefined) info.startedAt = new Date(job.startedAt);
  if (job.finishedAt !== undefined) info.finishedAt = new Date(job.finishedAt);
  if (job.result !== undefined) info.result = JSON.parse(job.result);
  if (job.error !== undefined) info.error = job.error;
  if (job.progress !== undefined) info.progress = JSON.parse(job.progress);
  return info;
}

/** A job as callers see it, its args read from disk if the record left them there. */
export async function readJobInfo(job: JobRecord): Promise<JobInfo> {
  return jobInfo(job, await argsText(job));
}

/** A job's args as JSON text, read from disk if the record left them there. */
export function argsText(job: JobRecord): string | Promise<string> {
  // Read in the same tick as job.args: a compaction moves every record it wrote to the new
  // snapshot before it closes the old one, and the old one stays open while a read is in flight.
  return typeof job.args === 'string' ? job.args : job.args.read(job.id);
}
