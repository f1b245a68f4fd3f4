// How a job record is shown to callers: JobInfo objects and the settled result.
import { CeleriacError, TaskFailedError } from './errors.js';
import type { JobRecord } from './jobs.js';
import type { JobInfo } from './send-types.js';
import { DEFAULT_QUEUE } from './queues.js';

export function outcomeOf(job: JobRecord): Promise<unknown> {
  switch (job.state) {
    case 'succeeded':
      return Promise.resolve(job.result === undefined ? undefined : JSON.parse(job.result));
    case 'failed':
      return Promise.reject(new TaskFailedError(job.id, job.task, job.error ?? { name: 'Error', message: 'failed' }));
    case 'cancelled':
      return Promise.reject(new CeleriacError('JOB_CANCELLED', `job ${job.id} (${job.task}) was cancelled`));
    case 'expired':
      return Promise.reject(new CeleriacError('JOB_EXPIRED', `job ${job.id} (${job.task}) expired before it could start`));
    default:
      return Promise.reject(new Error(`job ${job.id} has not finished`));
  }
}

export function jobInfo(job: JobRecord): JobInfo {
  const info: JobInfo = {
    id: job.id,
    task: job.task,
    args: JSON.parse(job.args) as unknown[],
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
