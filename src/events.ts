// Job lifecycle events for listeners (`app.on('succeeded', …)`): what happened to a job,
// told after it is durable. A listener runs on the host thread, after the store applied
// the change; one that throws is logged and never affects a job or another listener.
import type { SerializedError } from './errors.js';
import type { JobEvent as JournalEvent, JobRecord } from './jobs.js';

export const EVENT_TYPES = ['received', 'started', 'progress', 'retrying', 'succeeded', 'failed', 'cancelled', 'expired'] as const;
export type CeleriacEventType = (typeof EVENT_TYPES)[number];

export interface CeleriacEvent {
  type: CeleriacEventType;
  id: string;
  task: string;
  /** When it happened. */
  at: Date;
  /** Starts so far (the attempt that started, retried, succeeded or failed). */
  attempt: number;
  /** received with an eta or countdown, retrying: when it may run. */
  runAt?: Date;
  /** started: the previous run was interrupted (crash, lost worker). */
  recovered?: boolean;
  /** retrying: the error that caused it; failed: the error. */
  error?: SerializedError;
  /** succeeded: the return value. */
  result?: unknown;
  /** progress: what the task reported. */
  progress?: unknown;
}

export type CeleriacEventListener = (event: CeleriacEvent) => void;

const JOURNAL_TO_EVENT: Partial<Record<JournalEvent['type'], CeleriacEventType>> = {
  add: 'received',
  start: 'started',
  retry: 'retrying',
  succeed: 'succeeded',
  fail: 'failed',
  cancel: 'cancelled',
  expire: 'expired',
  progress: 'progress',
};

/** Listeners by event type; building an event costs nothing while nobody listens for its type. */
export class JobEvents {
  private readonly listeners = new Map<CeleriacEventType, Set<CeleriacEventListener>>();
  private count = 0;

  constructor(private readonly log: { error(message: string): void }) {}

  on(type: CeleriacEventType, listener: CeleriacEventListener): void {
    let set = this.listeners.get(type);
    if (!set) this.listeners.set(type, (set = new Set()));
    if (!set.has(listener)) {
      set.add(listener);
      this.count++;
    }
  }

  off(type: CeleriacEventType, listener: CeleriacEventListener): void {
    if (this.listeners.get(type)?.delete(listener)) this.count--;
  }

  wants(type: CeleriacEventType): boolean {
    return this.count > 0 && (this.listeners.get(type)?.size ?? 0) > 0;
  }

  emit(event: CeleriacEvent): void {
    const set = this.listeners.get(event.type);
    if (!set) return;
    for (const listener of set) {
      try {
        listener(event);
      } catch (err) {
        this.log.error(`an event listener for "${event.type}" threw (the job is not affected): ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      }
    }
  }

  /** Journal events just made durable and applied to `jobs`: tell the listeners. */
  applied(events: readonly JournalEvent[], jobs: ReadonlyMap<string, JobRecord>): void {
    if (this.count === 0) return;
    for (const ev of events) {
      const type = JOURNAL_TO_EVENT[ev.type];
      if (!type || !this.wants(type)) continue;
      const id = ev.type === 'add' ? ev.job.id : ev.id;
      const job = jobs.get(id);
      if (!job) continue;
      this.emit(fromJournal(type, ev, job));
    }
  }
}

function fromJournal(type: CeleriacEventType, ev: JournalEvent, job: JobRecord): CeleriacEvent {
  const at = ev.type === 'add' ? ev.job.createdAt : ev.at;
  const event: CeleriacEvent = { type, id: job.id, task: job.task, at: new Date(at), attempt: job.attempts };
  switch (ev.type) {
    case 'add':
      if (ev.job.runAt > at) event.runAt = new Date(ev.job.runAt);
      break;
    case 'start':
      event.recovered = job.recovered;
      break;
    case 'retry':
      event.runAt = new Date(ev.runAt);
      event.error = ev.error;
      break;
    case 'succeed':
      event.result = ev.result === undefined ? undefined : JSON.parse(ev.result);
      break;
    case 'fail':
      event.error = ev.error;
      break;
    case 'progress':
      event.progress = JSON.parse(ev.value);
      break;
    default:
      break;
  }
  return event;
}
