// A worker thread died (timeout, crash, out of memory, process.exit()): which of its jobs
// to blame, what error they fail with, and which run again elsewhere.
import type { ResourceLimits } from 'node:worker_threads';
import type { SerializedError } from '../errors.js';
import type { WireJob } from './protocol.js';
import { type PoolWorker, resolvePending } from './pool-worker.js';

export interface DeathRules {
  /** How many times a job may lose its worker before it fails for good (PoolOptions.maxWorkerLosses). */
  maxWorkerLosses: number;
  timeoutGraceMs: number;
  resourceLimits?: ResourceLimits;
}

/**
 * Settle every job the dead worker held: the job(s) to blame fail — or, below
 * maxWorkerLosses, run again; the others are given back. When the pool is closing, all
 * of them are given back. `losses` counts, by job id, the workers each job has lost.
 */
export function settleLostJobs(worker: PoolWorker, code: number, closing: boolean, losses: Map<string, number>, rules: DeathRules): void {
  const cause = deathCause(worker, code, rules);
  const blamed = suspects(worker);
  const pending = [...worker.inFlight];
  worker.inFlight.clear();
  const taken = Atomics.load(worker.taken, 0);
  for (const [seq, p] of pending) {
    // A job the worker had not taken off its queue never began: its attempt is not counted.
    if (closing || !blamed.has(seq)) resolvePending(p, { seq, kind: 'requeue', revert: p.index! >= taken });
    else if (worker.killedFor !== undefined) {
      losses.delete(p.job.id);
      resolvePending(p, { seq, kind: 'failed', error: cause(p.job) });
    } else {
      const lost = (losses.get(p.job.id) ?? 0) + 1;
      if (lost < rules.maxWorkerLosses) {
        losses.set(p.job.id, lost);
        resolvePending(p, { seq, kind: 'requeue', revert: false });
      } else {
        losses.delete(p.job.id);
        resolvePending(p, { seq, kind: 'failed', error: workerLost(cause(p.job), lost, rules.maxWorkerLosses) });
      }
    }
  }
}

/** Why the worker died, for the log line that reports it. */
export function deathReason(worker: PoolWorker, code: number): string {
  if (worker.killedFor !== undefined) return 'terminated after a timeout';
  return worker.crash ? worker.crash.message : `exit code ${code}`;
}

/**
 * The jobs a worker's death is blamed on: the one killed for its timeout, else the one
 * the worker named as it died; when nobody is named (out of memory, an exit outside any
 * job's code), every job that had begun and whose outcome had not come back — running,
 * or done with its outcome not yet posted.
 */
function suspects(worker: PoolWorker): Set<number> {
  const blamed = worker.killedFor ?? (Atomics.load(worker.culprit, 0) || undefined);
  if (blamed !== undefined) return new Set([blamed]);
  const taken = Atomics.load(worker.taken, 0);
  const begun = new Set<number>();
  for (const [seq, p] of worker.inFlight) if (p.index! < taken) begun.add(seq);
  return begun;
}

function deathCause(worker: PoolWorker, code: number, rules: DeathRules): (job: WireJob) => SerializedError {
  if (worker.killedFor !== undefined) {
    return (job) => ({
      name: 'TimeoutError',
      message: `${job.task} exceeded its timeout and did not stop within ${rules.timeoutGraceMs / 1000} s of its AbortSignal firing: its worker thread was terminated`,
    });
  }
  const crash = worker.crash as (Error & { code?: string }) | undefined;
  if (crash?.code === 'ERR_WORKER_OUT_OF_MEMORY') {
    const limit = rules.resourceLimits?.maxOldGenerationSizeMb;
    return (job) => ({
      name: 'WorkerOutOfMemory',
      message: `${job.task} ran out of memory: its worker thread exceeded the heap limit${limit ? ` of ${limit} MB (maxMemoryMb)` : ''} and was stopped`,
      code: 'ERR_WORKER_OUT_OF_MEMORY',
    });
  }
  if (crash) {
    return (job) => ({
      name: 'WorkerCrashed',
      message: `${job.task}: its worker thread died from an uncaught ${crash.name}: ${crash.message} (an error thrown from a timer or callback, or an unhandled rejection, inside the task)`,
      ...(crash.stack ? { stack: crash.stack } : {}),
    });
  }
  return (job) => ({
    name: 'WorkerExited',
    message: `${job.task}: its worker thread exited with code ${code} while the task ran (did the task call process.exit()?)`,
  });
}

/** The error of a job that lost its worker once too often: Celery's WorkerLostError, with the cause of the last loss. */
function workerLost(cause: SerializedError, lost: number, max: number): SerializedError {
  const times = max > 1 ? ` (it lost its worker thread ${lost} times; maxWorkerLosses is ${max})` : '';
  return { ...cause, message: `${cause.message}${times}`, code: 'WORKER_LOST' };
}
