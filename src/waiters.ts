// Callers waiting for jobs to finish (handle.result()): woken when a job reaches a
// final state, or given up after their own timeout (the job goes on).
import { CeleriacError } from './errors.js';
import { FINISHED_STATES, type JobRecord } from './jobs.js';
import { outcomeOf } from './job-view.js';

interface Waiter {
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

export class ResultWaiters {
  private readonly byId = new Map<string, Waiter[]>();

  /** Wait for `job` to finish; `timeoutMs` gives up waiting (RESULT_TIMEOUT), not the job. */
  wait(job: JobRecord, timeoutMs: number | undefined): Promise<unknown> {
    if (FINISHED_STATES.has(job.state)) return outcomeOf(job);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { resolve, reject };
      const list = this.byId.get(job.id);
      if (list) list.push(waiter);
      else this.byId.set(job.id, [waiter]);
      if (timeoutMs === undefined) return;
      const timer = setTimeout(() => {
        this.remove(job.id, waiter);
        reject(
          new CeleriacError(
            'RESULT_TIMEOUT',
            `job ${job.id} (${job.task}) did not finish within ${timeoutMs / 1000} s; it is ${job.state} and goes on`,
          ),
        );
      }, timeoutMs);
      waiter.resolve = (v) => {
        clearTimeout(timer);
        resolve(v);
      };
      waiter.reject = (e) => {
        clearTimeout(timer);
        reject(e);
      };
    });
  }

  private remove(id: string, waiter: Waiter): void {
    const list = this.byId.get(id);
    if (!list) return;
    const i = list.indexOf(waiter);
    if (i !== -1) list.splice(i, 1);
    if (list.length === 0) this.byId.delete(id);
  }

  /** A job finished: settle everyone waiting for it. */
  settle(job: JobRecord): void {
    const list = this.byId.get(job.id);
    if (!list || !FINISHED_STATES.has(job.state)) return;
    this.byId.delete(job.id);
    const outcome = outcomeOf(job);
    outcome.catch(() => undefined);
    for (const w of list) outcome.then(w.resolve, w.reject);
  }

  /** The app closed (or its store failed: `error`): nobody will be woken any more. */
  rejectAll(error?: CeleriacError): void {
    for (const [id, list] of this.byId) {
      for (const w of list)
        w.reject(
          error ??
            new CeleriacError(
              'APP_CLOSED',
              `the app closed before job ${id} finished; it is still on record and runs after the next start`,
            ),
        );
    }
    this.byId.clear();
  }
}
