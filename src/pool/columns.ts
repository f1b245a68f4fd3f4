// Batches of jobs and outcomes as they cross between the host and a worker: column by
// column (a few arrays per message) rather than an object per job. Structured clone
// writes every property name of every object it copies; a batch of parallel arrays is
// a handful of values whatever its size, which is cheaper to post and to receive on the
// host thread, the one that bounds throughput. Both ends keep working with WireJob and
// Outcome objects: only the message is in columns.
import type { SlotKind } from '../jobs.js';
import type { Outcome, WireJob } from './protocol.js';

/** Jobs for one worker: entry i of every array is job i, in the order the host queued them. */
export interface JobColumns {
  /** Per job, in four rows of `id.length` each: its seq, its attempt, its retries, 1 if recovered else 0. */
  ints: Int32Array;
  id: string[];
  task: string[];
  /** JSON text of each job's argument array. */
  args: string[];
  /** The rare per-job extras (per-call overrides, a schedule's slot), by the job's index; absent when no job has any. */
  extras?: Record<number, JobExtras>;
}

/** What only some jobs carry (see WireJob). */
export interface JobExtras {
  maxRetries?: number;
  retryDelayMs?: number;
  slot?: SlotKind;
}

/** Outcomes a worker reports together: entry i of every array is outcome i. */
export interface OutcomeColumns {
  seq: Int32Array;
  /** How long the task ran (ms); NaN when it did not run. */
  runMs: Float64Array;
  /** When the task function was called (epoch ms); NaN when it was not. */
  begunAt: Float64Array;
  /** A succeeded job's result (JSON text), undefined when it returned undefined. */
  result: (string | undefined)[];
  /** The outcomes that are not successes, whole, by their index; absent when every job succeeded. */
  others?: Record<number, Outcome>;
}

export function packJobs(jobs: readonly WireJob[]): JobColumns {
  const n = jobs.length;
  const ints = new Int32Array(4 * n);
  const id = new Array<string>(n);
  const task = new Array<string>(n);
  const args = new Array<string>(n);
  let extras: Record<number, JobExtras> | undefined;
  for (let i = 0; i < n; i++) {
    const job = jobs[i]!;
    ints[i] = job.seq;
    ints[n + i] = job.attempt;
    ints[2 * n + i] = job.retries;
    ints[3 * n + i] = job.recovered ? 1 : 0;
    id[i] = job.id;
    task[i] = job.task;
    args[i] = job.args;
    if (job.maxRetries !== undefined || job.retryDelayMs !== undefined || job.slot !== undefined) {
      const extra: JobExtras = {};
      if (job.maxRetries !== undefined) extra.maxRetries = job.maxRetries;
      if (job.retryDelayMs !== undefined) extra.retryDelayMs = job.retryDelayMs;
      if (job.slot !== undefined) extra.slot = job.slot;
      (extras ??= {})[i] = extra;
    }
  }
  return extras ? { ints, id, task, args, extras } : { ints, id, task, args };
}

export function unpackJobs(c: JobColumns): WireJob[] {
  const n = c.id.length;
  const jobs = new Array<WireJob>(n);
  for (let i = 0; i < n; i++) {
    const job: WireJob = {
      seq: c.ints[i]!,
      id: c.id[i]!,
      task: c.task[i]!,
      args: c.args[i]!,
      attempt: c.ints[n + i]!,
      retries: c.ints[2 * n + i]!,
      recovered: c.ints[3 * n + i] === 1,
    };
    const extra = c.extras?.[i];
    if (extra) Object.assign(job, extra);
    jobs[i] = job;
  }
  return jobs;
}

export function packOutcomes(outcomes: readonly Outcome[]): OutcomeColumns {
  const n = outcomes.length;
  const seq = new Int32Array(n);
  const runMs = new Float64Array(n);
  const begunAt = new Float64Array(n);
  const result = new Array<string | undefined>(n);
  let others: Record<number, Outcome> | undefined;
  for (let i = 0; i < n; i++) {
    const o = outcomes[i]!;
    seq[i] = o.seq;
    runMs[i] = o.runMs ?? Number.NaN;
    begunAt[i] = o.begunAt ?? Number.NaN;
    if (o.kind === 'succeeded') result[i] = o.result;
    else (others ??= {})[i] = o;
  }
  return others ? { seq, runMs, begunAt, result, others } : { seq, runMs, begunAt, result };
}

export function unpackOutcomes(c: OutcomeColumns): Outcome[] {
  const n = c.seq.length;
  const outcomes = new Array<Outcome>(n);
  for (let i = 0; i < n; i++) {
    const other = c.others?.[i];
    if (other) {
      outcomes[i] = other;
      continue;
    }
    const runMs = c.runMs[i]!;
    const begunAt = c.begunAt[i]!;
    // One literal with every field, so that each outcome object has the same shape.
    outcomes[i] = {
      seq: c.seq[i]!,
      kind: 'succeeded',
      result: c.result[i],
      runMs: Number.isNaN(runMs) ? undefined : runMs,
      begunAt: Number.isNaN(begunAt) ? undefined : begunAt,
    };
  }
  return outcomes;
}
