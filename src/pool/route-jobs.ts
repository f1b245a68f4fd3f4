// Which worker a job goes to: the least busy active one, all jobs for one worker in the
// same event-loop turn in one message; and work stealing, which moves jobs queued behind
// long-running ones to an idle worker.
import { packJobs } from './columns.js';
import type { HostMessage } from './protocol.js';
import { type Pending, type PoolWorker, resolvePending } from './pool-worker.js';

/** A worker whose every slot has run one job this long, with more queued, gives the queued ones to an idle worker. */
const STEAL_AFTER_MS = 100;

/**
 * The active worker with the fewest jobs in flight, other than `except`; undefined when none
 * can take jobs. One that has loaded its modules comes before one still loading (at start,
 * the first job does not wait for the last thread to load).
 */
export function leastBusy(workers: readonly PoolWorker[], except?: PoolWorker): PoolWorker | undefined {
  let best: PoolWorker | undefined;
  for (const w of workers)
    if (w !== except && w.state === 'active' && !w.exited && w.killedFor === undefined && (!best || busier(best, w))) best = w;
  return best;
}

/** Whether `a` should take jobs after `b`: still loading while `b` is loaded, or with more in flight. */
function busier(a: PoolWorker, b: PoolWorker): boolean {
  return a.loaded === b.loaded ? b.inFlight.size < a.inFlight.size : b.loaded;
}

/** Queue a job on `worker` (none: no worker can take it, it comes back at once); its message leaves with the others of this turn. */
export function assign(p: Pending, worker: PoolWorker | undefined): void {
  if (!worker) {
    resolvePending(p, { seq: p.job.seq, kind: 'requeue', revert: true });
    return;
  }
  p.index = worker.assigned++;
  worker.inFlight.set(p.job.seq, p);
  if (worker.outbox.push(p.job) === 1) {
    queueMicrotask(() => {
      const jobs = worker.outbox;
      worker.outbox = [];
      if (!worker.exited) worker.thread.postMessage({ t: 'run', jobs: packJobs(jobs) } satisfies HostMessage);
    });
  }
}

/**
 * Jobs wait in a worker's queue so that a short job never waits for a message round
 * trip. Behind a long job that is a trap, Celery's prefetch problem: when one worker is
 * idle while another sits on queued jobs behind a job running for over STEAL_AFTER_MS,
 * the busy one is asked to give its queued jobs back, and they move (see `reassign`).
 */
export function stealForIdle(workers: readonly PoolWorker[], concurrency: number, now: number): void {
  const idle = workers.some(
    (w) => w.state === 'active' && w.loaded && !w.exited && w.killedFor === undefined && w.inFlight.size < concurrency,
  );
  if (!idle) return;
  for (const w of workers) {
    if (w.state !== 'active' || w.exited || w.givingBack || w.inFlight.size <= concurrency) continue;
    let stuck = true;
    for (let i = 0; i < w.running.length; i++) {
      if (Atomics.load(w.running, i) === 0 || now - w.began[i]! < STEAL_AFTER_MS) stuck = false;
    }
    if (!stuck) continue;
    w.givingBack = true;
    w.thread.postMessage({ t: 'giveBack' } satisfies HostMessage);
  }
}

/** The jobs `from` gave back move to the least busy other worker. */
export function reassign(workers: readonly PoolWorker[], from: PoolWorker, seqs: number[]): void {
  from.givingBack = false;
  for (const seq of seqs) {
    const p = from.inFlight.get(seq);
    if (!p) continue;
    from.inFlight.delete(seq);
    assign(p, leastBusy(workers, from));
  }
}
