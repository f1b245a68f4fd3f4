// Jobs a limit holds back in the host (a rate limit, a queue's concurrency), first in,
// first out. Entries may go stale (cancelled meanwhile): the dispatcher checks each one.
import type { JobRecord } from '../jobs.js';

export class HeldJobs {
  private jobs: JobRecord[] = [];
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

  shift(): void {
    this.jobs[this.head++] = undefined as unknown as JobRecord;
    if (this.head > 1024 && this.head * 2 > this.jobs.length) {
      this.jobs = this.jobs.slice(this.head);
      this.head = 0;
    }
  }
}
