// Jobs that may run now, best first: higher priority, then first come. Kept outside
// p-queue so that a million due jobs cost a heap entry each, not a queued closure;
// p-queue is fed from here a little ahead of the free worker slots.
import TinyQueue from 'tinyqueue';
import type { JobRecord } from '../jobs.js';

interface Entry {
  job: JobRecord;
  order: number;
}

export class ReadyJobs {
  private readonly heap = new TinyQueue<Entry>([], (a, b) => b.job.priority - a.job.priority || a.order - b.order);
  private order = 0;

  get size(): number {
    return this.heap.length;
  }

  add(job: JobRecord): void {
    this.heap.push({ job, order: this.order++ });
  }

  take(): JobRecord | undefined {
    return this.heap.pop()?.job;
  }
}
