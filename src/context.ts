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
}

const KEY = Symbol.for('celeriac.context');
const holder = globalThis as typeof globalThis & { [KEY]?: AsyncLocalStorage<TaskContext> };
export const contextStorage: AsyncLocalStorage<TaskContext> = (holder[KEY] ??= new AsyncLocalStorage<TaskContext>());

/** The context of the job running in the current async flow; throws outside a task. */
export function context(): TaskContext {
  const ctx = contextStorage.getStore();
  if (!ctx) {
    throw new CeleriacError('NOT_IN_TASK', 'context() was called outside a running task: call it from inside a task function (or code it calls)');
  }
  return ctx;
}
