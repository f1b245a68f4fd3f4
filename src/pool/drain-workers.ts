// Shutdown's first step: take back from every worker the jobs it holds but has not begun.
import type { HostMessage, Outcome } from './protocol.js';
import { type PoolWorker, requeued } from './pool-worker.js';

/**
 * Ask each active or retired worker for the jobs it has not begun; they are settled as
 * `requeue` (revert) outcomes, and so is any job a worker bounces back later. A worker
 * whose thread is blocked (a task that never yields) cannot answer: at `deadline()` the
 * wait ends without it. Resolves to how many jobs came back.
 */
export async function drainWorkers(
  workers: readonly PoolWorker[],
  settle: (worker: PoolWorker, outcomes: Outcome[]) => void,
  deadline: () => number,
): Promise<number> {
  let answered = 0;
  const pending = workers.filter((w) => (w.state === 'active' || w.state === 'retired') && !w.exited);
  let left = pending.length;
  if (left === 0) return 0;
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      if (Date.now() >= deadline()) finish();
    }, 10);
    const finish = () => {
      clearInterval(timer);
      resolve();
    };
    for (const worker of pending) {
      worker.onDrained = (seqs) => {
        worker.onDrained = (later) => settle(worker, requeued(later));
        settle(worker, requeued(seqs));
        answered += seqs.length;
        if (--left === 0) finish();
      };
      worker.thread.postMessage({ t: 'drain' } satisfies HostMessage);
    }
  });
  return answered;
}
