// Callers waiting for jobs to finish (handle.result()): woken when a job reaches a
// final state, or given up after their own timeout (the job goes on).
// One promise per result() and no array for a job's only waiter: an app that awaits
// every job's result pays what a wait allocates once per job.
import { CeleriacError } from './errors.js';
import { FINISHED_STATES, type JobRecord } from './jobs.js';
import { finalValue, outcomeOf } from './job-view.js';

interface Waiter {
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

export class ResultWaiters {
  /** A job's waiters: one alone, or several in an array. */
  private readonly byId = new Map<string, Waiter | Waiter[]>();
  /** Set by rejectAll(): nobody would wake a waiter added later, so it is refused at once. */
  private ended: ((id: string) => CeleriacError) | undefined;

  /**
   * Wait for job `id` to finish; `timeoutMs` gives up waiting (RESULT_TIMEOUT), not the job.
   * `job` is its record, or undefined for a job the table keeps parked (pending: no record
   * is made for the wait); `current` gives its record for the timeout's message.
   */
  wait(id: string, job: JobRecord | undefined, timeoutMs: number | undefined, current: () => JobRecord | undefined): Promise<unknown> {
    if (job && FINISHED_STATES.has(job.state)) return outcomeOf(job);
    if (this.ended) return Promise.reject(this.ended(id));
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { resolve, reject };
      this.add(id, waiter);
      if (timeoutMs === undefined) return;
      const timer = setTimeout(() => {
        this.remove(id, waiter);
        const now = current();
        reject(
          new CeleriacError(
            'RESULT_TIMEOUT',
            `job ${id} (${now?.task ?? 'unknown task'}) did not finish within ${timeoutMs / 1000} s; it is ${now?.state ?? 'gone'} and goes on`,
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

  private add(id: string, waiter: Waiter): void {
    const held = this.byId.get(id);
    if (held === undefined) this.byId.set(id, waiter);
    else if (Array.isArray(held)) held.push(waiter);
    else this.byId.set(id, [held, waiter]);
  }

  private remove(id: string, waiter: Waiter): void {
    const held = this.byId.get(id);
    if (held === waiter) this.byId.delete(id);
    if (!Array.isArray(held)) return;
    const i = held.indexOf(waiter);
    if (i !== -1) held.splice(i, 1);
    if (held.length === 0) this.byId.delete(id);
  }

  /** A job finished: settle everyone waiting for it (all with the same value). */
  settle(job: JobRecord): void {
    const held = this.byId.get(job.id);
    if (held === undefined || !FINISHED_STATES.has(job.state)) return;
    this.byId.delete(job.id);
    let value: unknown;
    try {
      value = finalValue(job);
    } catch (err) {
      if (Array.isArray(held)) for (const w of held) w.reject(err);
      else held.reject(err);
      return;
    }
    if (Array.isArray(held)) for (const w of held) w.resolve(value);
    else held.resolve(value);
  }

  /** The app closed (or its store failed: `error`): nobody will be woken any more. */
  rejectAll(error?: CeleriacError): void {
    const closed = (id: string) =>
      error ??
      new CeleriacError('APP_CLOSED', `the app closed before job ${id} finished; it is still on record and runs after the next start`);
    this.ended = closed;
    for (const [id, held] of this.byId) {
      if (Array.isArray(held)) for (const w of held) w.reject(closed(id));
      else held.reject(closed(id));
    }
    this.byId.clear();
  }
}
