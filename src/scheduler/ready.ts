// Jobs that may run now, best first: higher priority, then first come. Kept outside
// p-queue so that a million due jobs cost a slot each, not a queued closure; p-queue is
// fed from here a little ahead of the free worker slots.
// One first-in-first-out list per priority, and a heap of the priorities present: jobs
// of one priority (nearly always all of them) are added and taken in O(1), with no entry
// object and no comparisons among a burst.
import TinyQueue from 'tinyqueue';
import type { JobRecord } from '../jobs.js';

/** A queue of jobs, first in first out, in an array read from `head`. */
class Fifo {
  private items: (JobRecord | undefined)[] = [];
  private head = 0;

  get size(): number {
    return this.items.length - this.head;
  }

  push(job: JobRecord): void {
    this.items.push(job);
  }

  shift(): JobRecord | undefined {
    if (this.head === this.items.length) return undefined;
    const job = this.items[this.head];
    this.items[this.head++] = undefined;
    // Drop the consumed front once it is most of the array (amortised O(1)).
    if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return job;
  }
}

export class ReadyJobs {
  private readonly byPriority = new Map<number, Fifo>();
  /** The priorities that have jobs, highest first. */
  private readonly priorities = new TinyQueue<number>([], (a, b) => b - a);
  private count = 0;
  /** The list jobs were last added to, which the next job nearly always shares. */
  private last: { priority: number; fifo: Fifo } | undefined;

  get size(): number {
    return this.count;
  }

  add(job: JobRecord): void {
    if (this.last?.priority === job.priority) {
      this.last.fifo.push(job);
      this.count++;
      return;
    }
    let fifo = this.byPriority.get(job.priority);
    if (!fifo) {
      fifo = new Fifo();
      this.byPriority.set(job.priority, fifo);
      this.priorities.push(job.priority);
    }
    this.last = { priority: job.priority, fifo };
    fifo.push(job);
    this.count++;
  }

  take(): JobRecord | undefined {
    const top = this.priorities.peek();
    if (top === undefined) return undefined;
    const fifo = this.byPriority.get(top)!;
    const job = fifo.shift();
    if (fifo.size === 0) {
      this.byPriority.delete(top);
      this.priorities.pop();
      if (this.last?.fifo === fifo) this.last = undefined;
    }
    this.count--;
    return job;
  }
}
