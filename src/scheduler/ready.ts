// Jobs that may run now, best first: higher priority, then first come. Kept outside
// p-queue so that a million due jobs cost a slot each, not a queued closure; p-queue is
// fed from here a little ahead of the free worker slots.
// One first-in-first-out list per priority, and a heap of the priorities present: jobs
// of one priority (nearly always all of them) are added and taken in O(1), with no entry
// object and no comparisons among a burst. Beyond the first HOT_READY jobs, the lists' backs
// are parked in the job table (as rows of numbers and bytes, not records) until their fronts
// have drained: a backlog of a million jobs then costs a fraction of their records.
import TinyQueue from 'tinyqueue';
import type { JobRecord } from '../jobs.js';
import type { Parking } from '../store/types.js';
import { JobFifo } from './job-fifo.js';

/**
 * Ready jobs kept as records ahead of the parked ones: parking a job and taking it back
 * costs the host more CPU than keeping the record, which a shorter backlog is not worth.
 */
export const HOT_READY = 65_536;

export class ReadyJobs {
  constructor(
    private readonly parking?: Parking,
    /** Ready jobs kept as records before the rest are parked. */
    private readonly hotReady = HOT_READY,
  ) {}

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
    const priority = job.priority;
    let fifo: JobFifo | undefined;
    if (this.last?.priority === priority) fifo = this.last.fifo;
    else {
      fifo = this.byPriority.get(priority);
      if (!fifo) {
        fifo = new JobFifo();
        this.byPriority.set(priority, fifo);
        this.priorities.push(priority);
      }
      this.last = { priority, fifo };
    }
    // Once a list's back is parked, every job joins it there: the list keeps its order.
    if (this.parking && (this.count >= this.hotReady || this.parking.parkedIn(priority) > 0)) this.parking.park(job);
    else fifo.push(job);
    this.count++;
  }

  take(): JobRecord | undefined {
    const top = this.priorities.peek();
    if (top === undefined) return undefined;
    const fifo = this.byPriority.get(top)!;
    let job: JobRecord | undefined;
    if (fifo.size > 0) {
      job = fifo.shift()!;
      // A job added twice (sent by two paths at once) may have a row too: the table sorts it out.
      if (this.parking?.parked) job = this.parking.claim(job);
    } else job = this.parking?.take(top);
    if (fifo.size === 0 && (this.parking === undefined || this.parking.parkedIn(top) === 0)) {
      this.byPriority.delete(top);
      this.priorities.pop();
      if (this.last?.fifo === fifo) this.last = undefined;
    }
    this.count--;
    return job;
  }
}
