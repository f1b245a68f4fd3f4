// What travels on the client socket (<dir>/client.sock): a client's requests, the
// worker's replies (matched by `re`), and the events a client subscribed to. Every
// message is one frame (frame.ts) of JSON, so Dates travel as ISO strings and errors as
// plain objects; this file turns both back into what the app itself returns.
import { CeleriacError, TaskFailedError, type CeleriacErrorCode, type SerializedError } from '../errors.js';
import type { CeleriacEvent, CeleriacEventListener, CeleriacEventType } from '../events.js';
import type { JobPage, ListOptions } from '../job-query.js';
import type { JobState } from '../jobs.js';
import type { JobHandle, JobInfo, ResultOptions, SendOptions } from '../send-types.js';

export const CLIENT_SOCKET_FILE = 'client.sock';

/** The largest request a worker reads (a batch of sends over it is refused: split it or use the inbox). */
export const MAX_REQUEST_BYTES = 64 * 1024 * 1024;
/** The largest reply a client reads: a result may be as large as the worker's maxResultBytes. */
export const MAX_REPLY_BYTES = 1024 * 1024 * 1024;

export type Request =
  | { id: number; op: 'send'; task: string; args: unknown; options?: SendOptions }
  | { id: number; op: 'sendMany'; task: string; items: unknown; options?: SendOptions }
  | { id: number; op: 'get'; job: string }
  | { id: number; op: 'list'; options?: ListOptions }
  | { id: number; op: 'counts' }
  | { id: number; op: 'cancel'; job: string }
  /** `timeout` in milliseconds (the client's remaining wait; the public API takes seconds). */
  | { id: number; op: 'result'; job: string; timeout?: number }
  | { id: number; op: 'subscribe'; events: CeleriacEventType[] }
  | { id: number; op: 'unsubscribe'; events: CeleriacEventType[] };

export type RequestOp = Request['op'];
export const REQUEST_OPS: readonly RequestOp[] = [
  'send',
  'sendMany',
  'get',
  'list',
  'counts',
  'cancel',
  'result',
  'subscribe',
  'unsubscribe',
];

/** What a send replies: the handle's fields. */
export interface SentJob {
  id: string;
  created: boolean;
}

export interface WireError {
  name: string;
  message: string;
  code?: string;
  /** JOB_FAILED: the failed job and the task's own error. */
  jobId?: string;
  task?: string;
  remote?: SerializedError;
}

export type Reply = { re: number; value?: unknown } | { re: number; error: WireError } | { event: CeleriacEvent };

/**
 * The app as the socket sees it: only its public facade, so that the socket serves any
 * backend. Reads may answer synchronously or with a Promise.
 */
export interface ClientFacade {
  send(task: string, args?: unknown[], options?: SendOptions): Promise<Pick<JobHandle, 'id' | 'created'>>;
  sendMany(task: string, items: never, options?: SendOptions): Promise<Pick<JobHandle, 'id' | 'created'>[]>;
  get(id: string): JobInfo | undefined | Promise<JobInfo | undefined>;
  list(options?: ListOptions): Promise<JobPage>;
  counts(): Record<JobState, number> | Promise<Record<JobState, number>>;
  cancel(id: string): Promise<boolean>;
  result(id: string, options?: ResultOptions): Promise<unknown>;
  on(type: CeleriacEventType, listener: CeleriacEventListener): unknown;
  off(type: CeleriacEventType, listener: CeleriacEventListener): unknown;
}

export function toWireError(err: unknown): WireError {
  if (err instanceof TaskFailedError)
    return { name: err.name, message: err.message, code: err.code, jobId: err.jobId, task: err.task, remote: err.remote };
  if (err instanceof Error) {
    const code = (err as Error & { code?: unknown }).code;
    return { name: err.name, message: err.message, ...(typeof code === 'string' ? { code } : {}) };
  }
  return { name: 'Error', message: String(err) };
}

/** The error the app would have thrown: a TaskFailedError, a CeleriacError with its code, else an Error. */
export function fromWireError(e: WireError): Error {
  if (e.code === 'JOB_FAILED' && e.jobId !== undefined && e.task !== undefined && e.remote)
    return new TaskFailedError(e.jobId, e.task, e.remote);
  if (e.name === 'CeleriacError' && e.code) return new CeleriacError(e.code as CeleriacErrorCode, e.message);
  const err = new Error(e.message);
  err.name = e.name;
  if (e.code) (err as Error & { code?: string }).code = e.code;
  return err;
}

const INFO_DATES = ['createdAt', 'runAt', 'expiresAt', 'startedAt', 'finishedAt'] as const;

export function reviveInfo(wire: unknown): JobInfo | undefined {
  if (wire === undefined || wire === null) return undefined;
  const info = wire as Record<string, unknown>;
  for (const k of INFO_DATES) if (typeof info[k] === 'string') info[k] = new Date(info[k] as string);
  return info as unknown as JobInfo;
}

export function reviveEvent(wire: CeleriacEvent): CeleriacEvent {
  const e = wire as unknown as Record<string, unknown>;
  e.at = new Date(e.at as string);
  if (typeof e.runAt === 'string') e.runAt = new Date(e.runAt);
  return wire;
}
