// Per-task rate limits (Celery's rate_limit), enforced by the dispatcher: a job over its
// task's limit waits in the host, in order, and is never failed or dropped.
// Two rules together:
// - Spacing: one start per window/count at most (Celery's token bucket of capacity 1),
//   so that "50/s" means a job every 20 ms, not bursts of 50.
// - A window count on the run start times: a job holds one of `count` places from the
//   moment it is handed out until one window after it began (its worker reports when),
//   so that however late some jobs begin in their workers, no window of `windowMs` ever
//   holds more than `count` starts.
import type { RateLimit } from '../rate-limit-spec.js';
import { JobFifo } from './job-fifo.js';

export type { RateLimit } from '../rate-limit-spec.js';

/**
 * Room for the clock of a task's own first statement, read a moment after its worker
 * took the start time (and for timers that fire a millisecond early).
 */
const SLACK_MS = 5;

export class TaskRateLimiter {
  /** Jobs held back, in the order the dispatcher took them from the ready lists. */
  readonly held = new JobFifo();
  /** Job ids holding a place; a place is freed one window after its job began. */
  private readonly holders = new Set<string>();
  private places = 0;
  private nextAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly intervalMs: number;

  /** `wake`: a place or the next spacing slot came free: the dispatcher should look again. */
  constructor(
    readonly limit: RateLimit,
    private readonly wake: () => void,
  ) {
    this.intervalMs = limit.windowMs / limit.count;
  }

  /** Whether a job may start now; if only the spacing stops it, the dispatcher is woken when it may. */
  canTake(now: number): boolean {
    if (this.places >= this.limit.count) return false;
    if (now < this.nextAt) {
      this.wakeAt(this.nextAt, now);
      return false;
    }
    return true;
  }

  /** After canTake(): the job takes a place (give it back with release()). */
  take(id: string, now: number): void {
    this.places++;
    this.holders.add(id);
    // A start made late (timers, a busy loop) does not push the next ones back; an idle
    // spell earns half an interval of catch-up at most, never a burst.
    this.nextAt = Math.max(this.nextAt, now - this.intervalMs / 2) + this.intervalMs;
  }

  /**
   * The job's run is over (or it never reached a worker): its place frees one window
   * after `begunAt`, or at once if it never began. A second call does nothing.
   */
  release(id: string, begunAt?: number): void {
    if (!this.holders.delete(id)) return;
    const wait = begunAt === undefined ? 0 : begunAt + this.limit.windowMs + SLACK_MS - Date.now();
    if (wait <= 0) this.free();
    else setTimeout(() => this.free(), wait).unref();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private free(): void {
    this.places--;
    this.wake();
  }

  private wakeAt(at: number, now: number): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.wake();
    }, at - now);
    this.timer.unref();
  }
}
