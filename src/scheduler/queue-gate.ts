// A queue's own concurrency (createCeleriac({ queues: { io: 8 } })): how many of its jobs
// this app holds at once, reserved or running. Jobs over it wait in the host, in order.
import { JobFifo } from './job-fifo.js';

export class QueueGate {
  readonly held = new JobFifo();
  private readonly holders = new Set<string>();

  constructor(
    readonly name: string,
    readonly concurrency: number,
    private readonly wake: () => void,
  ) {}

  canTake(): boolean {
    return this.holders.size < this.concurrency;
  }

  take(id: string): void {
    this.holders.add(id);
  }

  /** The job's outcome is in (or it never ran): its place frees. A second call does nothing. */
  release(id: string): void {
    if (this.holders.delete(id)) this.wake();
  }
}
