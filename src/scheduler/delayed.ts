// Jobs waiting for their time (eta, countdown, retry countdown): one min-heap and one
// timer for the earliest, however many jobs wait — no timer per job. Jobs due at the same
// instant come out in the order they were added (the order they were accepted: the
// ready lists keep it among equal priorities).
import TinyQueue from 'tinyqueue';
import type { JobRecord } from '../jobs.js';

interface Entry {
  at: number;
  /** Ties on `at` go first come, first served: a heap alone breaks them arbitrarily. */
  order: number;
  job: JobRecord;
}

// setTimeout takes at most 2^31-1 ms; a later time is reached in steps.
const MAX_DELAY = 0x7fffffff;

export class DelayedJobs {
  private readonly heap = new TinyQueue<Entry>([], (a, b) => a.at - b.at || a.order - b.order);
  private order = 0;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Number.POSITIVE_INFINITY;
  private active = false;

  /** `onDue` receives each job whose time has come (it may have changed state since: check). */
  constructor(private readonly onDue: (job: JobRecord) => void) {}

  get size(): number {
    return this.heap.length;
  }

  add(job: JobRecord): void {
    this.heap.push({ at: job.runAt, order: this.order++, job });
    if (this.active && job.runAt < this.timerAt) this.arm();
  }

  start(): void {
    this.active = true;
    this.fire();
  }

  stop(): void {
    this.active = false;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
  }

  private fire = (): void => {
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
    const now = Date.now();
    for (let top = this.heap.peek(); top && top.at <= now; top = this.heap.peek()) {
      this.heap.pop();
      // A stale entry: the job was rescheduled to a different time since.
      if (top.job.runAt === top.at) this.onDue(top.job);
    }
    if (this.active) this.arm();
  };

  private arm(): void {
    const top = this.heap.peek();
    if (!top) return;
    clearTimeout(this.timer);
    this.timerAt = top.at;
    this.timer = setTimeout(this.fire, Math.min(MAX_DELAY, Math.max(0, top.at - Date.now())));
    this.timer.unref();
  }
}
