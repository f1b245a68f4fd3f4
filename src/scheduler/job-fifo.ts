// Jobs in arrival order, first in, first out, in an array read from `head`: the jobs a
// limit holds back in the host (a rate limit, a queue's concurrency), and the ready jobs
// of one priority. Entries may go stale (cancelled meanwhile): their users check each one.
import type { JobRecord } from '../jobs.js';

export class JobFifo {
  private jobs: (JobRecord | undefined)[] = [];
  private head = 0;

  get size(): number {
    return this.jobs.length - this.head;
  }

  push(job: JobRecord): void {
    this.jobs.push(job);
  }

  peek(): JobRecord | undefined {
    return this.head < this.jobs.length ? this.jobs[this.head] : undefined;
  }

  /** Take the first job, if any. */
  shift(): JobRecord | undefined {
    if (this.head === this.jobs.length) return undefined;
    const job = this.jobs[this.head];
    this.jobs[this.head++] = undefined;
    // Drop the consumed front once it is most of the array (amortised O(1)).
    if (this.head >= 1024 && this.head * 2 >= this.jobs.length) {
      this.jobs = this.jobs.slice(this.head);
      this.head = 0;
    }
    return job;
  }
}
