// Job lifecycle events for listeners (`app.on('succeeded', …)`): what happened to a job,
// told after it is durable. A listener runs on the host thread, after the store applied
// the change; one that throws is logged and never affects a job or another listener.
import type { SerializedError } from './errors.js';

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

/**
 * Listeners by event type, owned by the app; a backend builds and emits events, asking
 * `wants(type)` first so that nothing is built while nobody listens for that type.
 */
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
        this.log.error(
          `an event listener for "${event.type}" threw (the job is not affected): ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
        );
      }
    }
  }
}
