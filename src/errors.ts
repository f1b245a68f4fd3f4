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
  | 'STORE_FAILED'
  | 'APP_CLOSED'
  | 'RESULT_TIMEOUT'
  | 'RESULT_GONE'
  | 'JOB_ID_BUSY'
  | 'JOB_FAILED'
  | 'JOB_CANCELLED'
  | 'JOB_EXPIRED'
  | 'NOT_IN_TASK'
  | 'INVALID_SCHEDULE'
  | 'UNKNOWN_SCHEDULE'
  | 'BROKER_UNREACHABLE'
  | 'BROKER_NOT_DURABLE'
  | 'BROKER_FAILED'
  | 'INVALID_PROGRESS'
  | 'UNKNOWN_QUEUE'
  | 'INVALID_WORKFLOW'
  | 'NOT_SUPPORTED';

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
  /** The error's `cause`, recorded the same way (a chain of at most 8 causes). */
  cause?: SerializedError;
}

/** `job.result()` rejects with this when the task failed: it wraps the task's own error. */
export class TaskFailedError extends CeleriacError {
  readonly jobId: string;
  readonly task: string;
  readonly remote: SerializedError;
  constructor(jobId: string, task: string, remote: SerializedError) {
    const root = rootCause(remote);
    super('JOB_FAILED', `${task} [${jobId}] failed: ${remote.name}: ${remote.message}${root ? ` (caused by ${errorLine(root)})` : ''}`);
    this.name = 'TaskFailedError';
    this.jobId = jobId;
    this.task = task;
    this.remote = remote;
    if (remote.stack || remote.cause) this.stack = `${this.name}: ${this.message}\n--- in the worker ---\n${errorTrace(remote)}`;
  }
}

/** `Name [code]: message`: one line for an error record. */
export function errorLine(e: SerializedError): string {
  return `${e.name}${e.code ? ` [${e.code}]` : ''}: ${e.message}`;
}

/** The last link of an error's cause chain, if it has one. */
export function rootCause(e: SerializedError): SerializedError | undefined {
  let c = e.cause;
  while (c?.cause) c = c.cause;
  return c;
}

/** An error record's stack followed by each cause's, as Java prints "Caused by:". */
export function errorTrace(e: SerializedError): string {
  const parts: string[] = [];
  for (let c: SerializedError | undefined = e; c; c = c.cause) {
    const head = parts.length === 0 ? '' : 'Caused by: ';
    parts.push(head + (c.stack ?? errorLine(c)));
  }
  return parts.join('\n');
}

export { serializeError } from './serialize-error.js';
