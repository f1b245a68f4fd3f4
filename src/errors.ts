// Every error celeriac raises on purpose is a CeleriacError with a stable `code`, so
// callers (and the CLI) can branch on it without parsing messages.

export type CeleriacErrorCode =
  | 'INVALID_TASK_NAME'
  | 'INVALID_TASK_OPTIONS'
  | 'UNKNOWN_TASK'
  | 'INVALID_ARGS'
  | 'INVALID_SEND_OPTIONS'
  | 'INVALID_CONFIG'
  | 'DUPLICATE_TASK'
  | 'TASK_IMPORT_FAILED'
  | 'TASKS_NOT_FOUND'
  | 'PLUGIN_NOT_FOUND'
  | 'DATA_DIR_LOCKED'
  | 'DATA_DIR_UNSAFE'
  | 'DATA_DIR_LOST'
  | 'CORRUPT_JOURNAL'
  | 'UNSUPPORTED_FORMAT'
  | 'DISK_FULL'
  | 'STORE_WRITE_FAILED'
  | 'APP_CLOSED'
  | 'APP_NOT_STARTED'
  | 'RESULT_TIMEOUT'
  | 'RESULT_GONE'
  | 'JOB_FAILED'
  | 'JOB_CANCELLED'
  | 'JOB_EXPIRED'
  | 'NOT_IN_TASK';

export class CeleriacError extends Error {
  readonly code: CeleriacErrorCode;
  constructor(code: CeleriacErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CeleriacError';
    this.code = code;
  }
}

/** The error a task raised, carried back from its worker thread (name, message, stack). */
export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  code?: string;
}

/** `job.result()` rejects with this when the task failed: it wraps the task's own error. */
export class TaskFailedError extends CeleriacError {
  readonly jobId: string;
  readonly task: string;
  readonly remote: SerializedError;
  constructor(jobId: string, task: string, remote: SerializedError) {
    super('JOB_FAILED', `${task} [${jobId}] failed: ${remote.name}: ${remote.message}`);
    this.name = 'TaskFailedError';
    this.jobId = jobId;
    this.task = task;
    this.remote = remote;
    if (remote.stack) this.stack = `${this.name}: ${this.message}\n--- in the worker ---\n${remote.stack}`;
  }
}

export function serializeError(value: unknown): SerializedError {
  if (value instanceof Error) {
    const out: SerializedError = { name: value.name, message: value.message };
    if (value.stack) out.stack = value.stack;
    const code = (value as { code?: unknown }).code;
    if (typeof code === 'string') out.code = code;
    return out;
  }
  let shown: string;
  try {
    shown = typeof value === 'string' ? JSON.stringify(value) : String(value);
  } catch {
    shown = Object.prototype.toString.call(value);
  }
  return { name: 'NonErrorThrown', message: `the task threw a non-Error value: ${shown}` };
}
