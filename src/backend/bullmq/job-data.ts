// What celeriac keeps in a BullMQ job, and how a BullMQ job reads back as a celeriac job:
// its state (BullMQ's states plus celeriac's cancelled, expired and retrying), its
// priority, its outcome.
import { DEFAULT_QUEUE } from '../../queues.js';
import type { Job } from 'bullmq';
import { CeleriacError, TaskFailedError, type SerializedError } from '../../errors.js';
import type { JobState, NewJob } from '../../jobs.js';
import type { JobInfo } from '../../send-types.js';
import { fromBullId } from './job-id.js';

/**
 * The data of a BullMQ job that celeriac sent: the new job's fields (its `args` a retry may
 * replace), and what the broker cannot tell by itself. The task name is the job's name.
 */
export interface JobData extends Pick<NewJob, 'args' | 'createdAt' | 'runAt' | 'expiresAt' | 'priority' | 'retryDelay' | 'slot'> {
  /** JSON has no Infinity: -1 stands for no limit. */
  maxRetries?: number;
  retries: number;
  /** A random token per send: tells the send that created the job from one that found it. */
  nonce: string;
  /** The error that caused the pending retry. */
  error?: SerializedError;
  /** BullMQ's stall count when this run was scheduled: a higher one at the next start means that run was interrupted. */
  stalls?: number;
  /** Set when the last run was given back after it may have begun. */
  recovered?: boolean;
  /** Set by cancel(): the job will not run (a waiting one is finished as cancelled when reached). */
  cancelledAt?: number;
}

/**
 * BullMQ runs lower numbers first, from 1 to 2^21 - 1 (0 means "no priority" and runs
 * before every prioritized job), so every celeriac job is prioritized: celeriac's 0 is
 * the middle of the range, and priorities beyond ±PRIORITY_SPAN run as the nearest limit.
 */
export const PRIORITY_SPAN = 2 ** 20 - 1;
export function toBullPriority(priority: number): number {
  return 2 ** 20 - Math.max(-PRIORITY_SPAN, Math.min(PRIORITY_SPAN, priority));
}

export function toData(job: NewJob, nonce: string): JobData {
  const data: JobData = {
    args: job.args,
    createdAt: job.createdAt,
    runAt: job.runAt,
    expiresAt: job.expiresAt,
    priority: job.priority,
    retries: 0,
    nonce,
  };
  if (job.maxRetries !== undefined) data.maxRetries = job.maxRetries === Number.POSITIVE_INFINITY ? -1 : job.maxRetries;
  if (job.retryDelay !== undefined) data.retryDelay = job.retryDelay;
  if (job.slot !== undefined) data.slot = job.slot;
  return data;
}

export function maxRetriesOf(data: JobData): number | undefined {
  return data.maxRetries === undefined ? undefined : data.maxRetries === -1 ? Number.POSITIVE_INFINITY : data.maxRetries;
}

/**
 * How a job that did not succeed ends, as BullMQ's failedReason: a JSON object, so that
 * a cancel or an expiry reads back as such and a task's error keeps its name and stack.
 */
export type Ending = ({ celeriac: 'failed'; error: SerializedError } | { celeriac: 'cancelled' } | { celeriac: 'expired' }) & {
  task?: string;
};

export function endingText(ending: Ending): string {
  return JSON.stringify(ending);
}

export function readEnding(failedReason: string | undefined): Ending {
  if (failedReason) {
    try {
      const e = JSON.parse(failedReason) as Ending;
      if (e && (e.celeriac === 'failed' || e.celeriac === 'cancelled' || e.celeriac === 'expired')) return e;
    } catch {
      // a failure BullMQ itself recorded (a stalled job over its limit, a lost lock)
    }
  }
  return { celeriac: 'failed', error: { name: 'BrokerError', message: failedReason || 'failed' } };
}

/** BullMQ's state names, as celeriac's. */
export function stateOf(bullState: string, job: Job<JobData>): JobState {
  switch (bullState) {
    case 'completed':
      return 'succeeded';
    case 'failed':
      return readEnding(job.failedReason).celeriac;
    case 'active':
      return job.data.cancelledAt ? 'cancelled' : 'started';
    default:
      if (job.data.cancelledAt) return 'cancelled';
      return bullState === 'delayed' && job.data.retries > 0 && job.attemptsStarted > 0 ? 'retrying' : 'pending';
  }
}

/** Return values travel as JSON text; '' stands for undefined (no JSON text is empty). */
export function resultText(result: string | undefined): string {
  return result ?? '';
}

export function parseResult(text: unknown): unknown {
  return typeof text === 'string' && text !== '' ? JSON.parse(text) : undefined;
}

export function jobInfoOf(job: Job<JobData>, state: JobState): JobInfo {
  const d = job.data;
  const info: JobInfo = {
    id: fromBullId(job.id!),
    task: job.name,
    args: JSON.parse(d.args) as unknown[],
    state,
    attempts: job.attemptsStarted,
    retries: d.retries,
    priority: d.priority,
    queue: DEFAULT_QUEUE,
    recovered: d.recovered === true || (state === 'started' && job.stalledCounter > (d.stalls ?? 0)),
    createdAt: new Date(d.createdAt),
  };
  if (d.runAt) info.runAt = new Date(d.runAt);
  if (d.expiresAt) info.expiresAt = new Date(d.expiresAt);
  if (job.processedOn) info.startedAt = new Date(job.processedOn);
  if (state === 'cancelled' && d.cancelledAt) info.finishedAt = new Date(job.finishedOn ?? d.cancelledAt);
  else if (job.finishedOn) info.finishedAt = new Date(job.finishedOn);
  if (state === 'succeeded') {
    const r = parseResult(job.returnvalue);
    if (r !== undefined) info.result = r;
  }
  if (state === 'failed') info.error = (readEnding(job.failedReason) as { error: SerializedError }).error;
  else if (d.error && (state === 'retrying' || state === 'pending' || state === 'started')) info.error = d.error;
  return info;
}

/** The settled result() of a finished job. */
export function outcomeOfEnding(id: string, task: string, ending: Ending): CeleriacError {
  switch (ending.celeriac) {
    case 'failed':
      return new TaskFailedError(id, task, ending.error);
    case 'cancelled':
      return new CeleriacError('JOB_CANCELLED', `job ${id} (${task}) was cancelled`);
    case 'expired':
      return new CeleriacError('JOB_EXPIRED', `job ${id} (${task}) expired before it could start`);
  }
}
