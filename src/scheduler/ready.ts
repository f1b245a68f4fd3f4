// Jobs that may run now, best first: higher priority, then first come. Kept outside
// p-queue so that a million due jobs cost a slot each, not a queued closure; p-queue is
// fed from here a little ahead of the free worker slots.
// One first-in-first-out list per priority, and a heap of the priorities present: jobs
// of one priority (nearly always all of them) are added and taken in O(1), with no entry
// object and no comparisons among a burst.
import TinyQueue from 'tinyqueue';
import type { JobRecord } from '../jobs.js';
import { JobFifo } from './job-fifo.js';

export class ReadyJobs {
  private readonly byPriority = new Map<number, JobFifo>();
  /** The priorities that have jobs, highest first. */
  private readonly priorities = new TinyQueue<number>([], (a, b) => b - a);
  private count = 0;
  /** The list jobs were last added to, which the next job nearly always shares. */
  private last: { priority: number; fifo: JobFifo } | undefined;

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
      fifo = new JobFifo();
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
