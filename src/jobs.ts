// The job record and its state transitions. Pure: no I/O, no clocks. The store applies
// the same events live (after they are durable) and at recovery (replaying the journal),
// so both paths reach the same state by construction.
import type { SerializedError } from './errors.js';
import type { StoredArgs } from './store/stored-args.js';

export const JOB_STATES = ['pending', 'reserved', 'started', 'retrying', 'succeeded', 'failed', 'cancelled', 'expired'] as const;
export type JobState = (typeof JOB_STATES)[number];

export const FINISHED_STATES: ReadonlySet<JobState> = new Set(['succeeded', 'failed', 'cancelled', 'expired']);
/** States in which a job waits for its turn: it holds no worker. */
export const WAITING_STATES: ReadonlySet<JobState> = new Set(['pending', 'retrying']);
/**
 * States a job may be started or expired from: waiting, or reserved (taken by the
 * dispatcher ahead of a free worker; in memory only, pending on disk).
 */
const TAKEABLE_STATES: ReadonlySet<JobState> = new Set(['pending', 'retrying', 'reserved']);

export interface JobRecord {
  id: string;
  task: string;
  /**
   * The arguments as the JSON text of an array: kept encoded, since the journal, the
   * snapshot and the worker all want text. A finished job's may be left on disk, in the
   * snapshot: then where they are (read them with argsText()).
   */
  args: string | StoredArgs;
  state: JobState;
  /** Starts so far, including runs interrupted by a crash. */
  attempts: number;
  /** Retries scheduled so far (what maxRetries limits). */
  retries: number;
  /** Higher runs first; default 0. */
  priority: number;
  createdAt: number;
  /** Earliest start (eta, countdown, retry countdown), epoch ms; 0 means now. */
  runAt: number;
  /** A job not started by this time is expired instead of run; 0 means never. */
  expiresAt: number;
  /** Per-call overrides of the task's retry defaults (undefined: use the task's). */
  maxRetries?: number;
  retryDelay?: number;
  startedAt?: number;
  finishedAt?: number;
  /** JSON text of the return value (absent when the task returned undefined). */
  result?: string;
  /** The last error: the failure, or the error that caused the pending retry. */
  error?: SerializedError;
  /** True when the previous run was interrupted (crash, killed worker): the task may have run before. */
  recovered: boolean;
  /** JSON text of the latest value the task reported through context().progress(). */
  progress?: string;
  /** The queue the job belongs to; absent: the default queue. */
  queue?: string;
  /** JSON text of the job's workflow link (src/workflows/link.ts): what its success sets off. */
  link?: string;
  /** Set on a periodic schedule's slot job: sent on time, or late (a missed slot). */
  slot?: SlotKind;
}

/** A record as a reader of the data dir gets it (readJobs, the client's jobs()): its args always as text. */
export type JobRecordText = JobRecord & { args: string };

/** How a schedule's slot job was sent: when its slot came (`on-time`), or after it (`backfill`). */
export type SlotKind = 'on-time' | 'backfill';

export interface NewJob {
  id: string;
  task: string;
  args: string;
  createdAt: number;
  runAt: number;
  expiresAt: number;
  priority: number;
  maxRetries?: number;
  retryDelay?: number;
  /** The queue; absent: the default queue. */
  queue?: string;
  /** JSON text of the job's workflow link. */
  link?: string;
  slot?: SlotKind;
}

export type JobEvent =
  | { type: 'add'; job: NewJob }
  /** Handed to a worker: it may begin at any moment (an attempt). */
  | { type: 'start'; id: string; at: number }
  | { type: 'succeed'; id: string; at: number; result?: string }
  | { type: 'fail'; id: string; at: number; error: SerializedError }
  | { type: 'retry'; id: string; at: number; runAt: number; error: SerializedError; args?: string }
  | { type: 'cancel'; id: string; at: number }
  | { type: 'expire'; id: string; at: number }
  /** Give a started job back: `revert` when it never began (attempt uncounted), else it may have run (recovered). A reserved job goes back as it was. */
  | { type: 'requeue'; id: string; at: number; revert: boolean }
  /** Drop a finished job and its result before its retention time (`celeriac clear`). */
  | { type: 'forget'; id: string; at: number }
  /** The latest progress of a running job (JSON text). Journaled lazily: a crash may lose it. */
  | { type: 'progress'; id: string; at: number; value: string };

export function newRecord(job: NewJob): JobRecord {
  // Every field present from the start, in one order: a million records share one
  // object shape, which keeps loading and dispatch on V8's fast paths. For the same
  // reason a field is cleared by assigning undefined, never with `delete`, which turns
  // the record into a dictionary several times its size.
  return {
    id: job.id,
    task: job.task,
    args: job.args,
    state: 'pending',
    attempts: 0,
    retries: 0,
    priority: job.priority,
    createdAt: job.createdAt,
    runAt: job.runAt,
    expiresAt: job.expiresAt,
    maxRetries: job.maxRetries,
    retryDelay: job.retryDelay,
    startedAt: undefined,
    finishedAt: undefined,
    result: undefined,
    error: undefined,
    recovered: false,
    progress: undefined,
    queue: job.queue,
    link: job.link,
    slot: job.slot,
  };
}

/**
 * Apply one event. An event that does not fit the job's current state (a result that
 * arrives after a cancel, a second add of a known id) changes nothing: the journal's
 * order decides, identically live and at replay. Returns the record it changed.
 *
 * `known`: the record the caller holds for the event's job, if any (the dispatcher's, for
 * a start or an outcome). While it is not finished it is the one `jobs` holds under its id
 * (a record leaves the table, or is replaced by a new one of the same id, only once
 * finished), so it is used without a look-up in a table of every job kept; a finished one
 * is looked up, as without it, and so is one of another id (a caller's lists out of step).
 */
export function applyEvent(jobs: Map<string, JobRecord>, ev: JobEvent, known?: JobRecord): JobRecord | undefined {
  if (ev.type === 'add') {
    // A finished record under the same id is one whose result had expired when the add was
    // accepted (an open drops expired results in memory only, until the next snapshot):
    // the add replaces it. Live, a known id is never added again (send dedupes), and two
    // racing adds of one id meet a pending or started record, which keeps the first.
    const old = jobs.get(ev.job.id);
    if (old && !FINISHED_STATES.has(old.state)) return undefined;
    if (old) jobs.delete(old.id);
    const rec = newRecord(ev.job);
    jobs.set(rec.id, rec);
    return rec;
  }
  const job = known !== undefined && known.id === ev.id && !FINISHED_STATES.has(known.state) ? known : jobs.get(ev.id);
  if (!job) return undefined;
  switch (ev.type) {
    case 'start':
      if (!TAKEABLE_STATES.has(job.state)) return undefined;
      job.state = 'started';
      job.attempts += 1;
      job.startedAt = ev.at;
      return job;
    case 'succeed':
      if (job.state !== 'started') return undefined;
      job.state = 'succeeded';
      job.finishedAt = ev.at;
      if (ev.result !== undefined) job.result = ev.result;
      job.error = undefined;
      return job;
    case 'fail':
      if (job.state !== 'started') return undefined;
      job.state = 'failed';
      job.finishedAt = ev.at;
      job.error = ev.error;
      return job;
    case 'retry':
      if (job.state !== 'started') return undefined;
      job.state = 'retrying';
      job.retries += 1;
      job.runAt = ev.runAt;
      job.error = ev.error;
      job.recovered = false;
      if (ev.args !== undefined) job.args = ev.args;
      return job;
    case 'cancel':
      if (FINISHED_STATES.has(job.state)) return undefined;
      job.state = 'cancelled';
      job.finishedAt = ev.at;
      return job;
    case 'expire':
      if (!TAKEABLE_STATES.has(job.state)) return undefined;
      job.state = 'expired';
      job.finishedAt = ev.at;
      return job;
    case 'forget':
      if (!FINISHED_STATES.has(job.state)) return undefined;
      jobs.delete(job.id);
      return job;
    case 'progress':
      if (job.state !== 'started') return undefined;
      job.progress = ev.value;
      return job;
    case 'requeue':
      if (job.state === 'reserved') {
        job.state = 'pending';
        return job;
      }
      if (job.state !== 'started') return undefined;
      job.state = 'pending';
      if (ev.revert) job.attempts -= 1;
      else job.recovered = true;
      return job;
  }
}

/** After a restart: a job that was started and never finished may have run; run it again, flagged. */
export function recoverInterrupted(jobs: Map<string, JobRecord>, ids: readonly string[]): number {
  let n = 0;
  for (const id of ids) {
    const job = jobs.get(id);
    if (job?.state === 'started') {
      job.state = 'pending';
      job.recovered = true;
      n++;
    }
  }
  return n;
}

/** Drop finished jobs whose results are older than the retention time. */
export function dropExpiredResults(
  jobs: Map<string, JobRecord>,
  now: number,
  resultTtlMs: number,
  /** The records to look at: every finished job must be among them. */
  records: Iterable<JobRecord> = jobs.values(),
): number {
  let n = 0;
  for (const job of records) {
    if (FINISHED_STATES.has(job.state) && (job.finishedAt ?? 0) + resultTtlMs <= now) {
      jobs.delete(job.id);
      n++;
    }
  }
  return n;
}
