// Hard timeouts: a job still running past its deadline (its timeout plus the grace after
// its AbortSignal fired) cannot be stopped from outside but by terminating its worker.
import type { PoolWorker } from './pool-worker.js';

/** Terminate each worker running a job past its deadline, remembering that job as the one to blame. */
export function terminateOverdue(workers: readonly PoolWorker[], now: number): void {
  for (const w of workers) {
    if (w.killedFor !== undefined || w.exited) continue;
    for (let i = 0; i < w.running.length; i++) {
      const seq = Atomics.load(w.running, i);
      const due = w.deadline[i]!;
      if (seq !== 0 && due > 0 && now > due) {
        w.killedFor = seq;
        void w.thread.terminate();
        break;
      }
    }
  }
}
