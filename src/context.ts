// The running job's context, reachable from anywhere inside a task through `context()`.
// Kept on globalThis under a registered symbol: a task module loaded through tsx may
// get its own copy of this library, and both copies must see the same store.
import { AsyncLocalStorage } from 'node:async_hooks';
import { CeleriacError } from './errors.js';

export interface TaskContext {
  /** The job id (the `task_id` of Celery's send_task). */
  readonly id: string;
  /** The task name. */
  readonly task: string;
  /** 1 on the first run; counts every start, including runs cut short by a crash. */
  readonly attempt: number;
  /** Retries already scheduled for this job (what maxRetries limits). */
  readonly retries: number;
  /** True when a previous run of this job was interrupted (crash, lost worker): it may have had effects. */
  readonly recovered: boolean;
  /** Fires on timeout, cancel and cold shutdown. Pass it to fetch() and friends. */
  readonly signal: AbortSignal;
  /**
   * Report how far the job has come: a number from 0 to 100, or a small plain object
   * (at most 4 KiB of JSON). Cheap to call often: only the latest value reaches the host,
   * a few times a second; it shows in `get()`, `celeriac show`/`list` and as a
   * 'progress' event. Throws INVALID_PROGRESS for any other value.
   */
  progress(value: ProgressValue): void;
  /**
   * For a job a periodic schedule sent for one of its slots: the schedule's name, the
   * slot, and `backfill: true` when the slot was sent late (missed while nothing ran, or
   * while the process was stalled). Undefined for every other job.
   */
  readonly schedule: ScheduleContext | undefined;
}

export interface ScheduleContext {
  readonly name: string;
  /** The slot's instant. */
  readonly slot: Date;
  readonly backfill: boolean;
}

/** What `context().progress()` takes: a percentage, or a small JSON object of your own. */
export type ProgressValue = number | Record<string, unknown>;

const KEY = Symbol.for('celeriac.context');
const holder = globalThis as typeof globalThis & { [KEY]?: AsyncLocalStorage<TaskContext> };
export const contextStorage: AsyncLocalStorage<TaskContext> = (holder[KEY] ??= new AsyncLocalStorage<TaskContext>());

/** The context of the job running in the current async flow; throws outside a task. */
export function context(): TaskContext {
  const ctx = contextStorage.getStore();
  if (!ctx) {
    throw new CeleriacError(
      'NOT_IN_TASK',
      'context() was called outside a running task: call it from inside a task function (or code it calls)',
    );
  }
  return ctx;
}
