// The jobs the dispatcher holds, each in exactly one phase, from the moment it is taken
// from the ready lists (or a held list, or send()'s fast path) until its outcome is
// durable or it is given back. Waiting jobs are not here: the ready lists and the held
// lists count those, so a million pending jobs cost no entry each. The counts per phase
// change only in add/move/remove, so "how many are held for prefetch" and "is anything in
// flight" are each one read.
import type { JobRecord, JobState } from '../jobs.js';

/**
 * - `reserving`: taken; its expiry is being checked (and written if it passed).
 * - `queued`: in a dispatch unit waiting in p-queue for room on the pool.
 * - `starting`: its unit has its turn; the start is being written.
 * - `running`: handed to the pool; its outcome has not come back.
 * - `recording`: its outcome came back and is being written.
 * - `returning`: given back without running (close, a failed start write); the requeue is being written.
 */
export type Phase = 'reserving' | 'queued' | 'starting' | 'running' | 'recording' | 'returning';

export interface InFlight {
  readonly job: JobRecord;
  phase: Phase;
  /** The waiting state (pending or retrying) the job had when taken: what it is again if given back before its start. */
  readonly waitingState: JobState;
  /** A shutdown fired the job's AbortSignal: a failure now is the shutdown's doing. */
  stoppedByShutdown: boolean;
}

export class InFlightJobs {
  private readonly byId = new Map<string, InFlight>();
  private readonly counts: Record<Phase, number> = { reserving: 0, queued: 0, starting: 0, running: 0, recording: 0, returning: 0 };

  /** Jobs in flight, in any phase. */
  get size(): number {
    return this.byId.size;
  }

  /** Jobs reserved or started whose outcome has not come back: what prefetch limits. */
  get held(): number {
    const c = this.counts;
    return c.reserving + c.queued + c.starting + c.running;
  }

  count(phase: Phase): number {
    return this.counts[phase];
  }

  get(id: string): InFlight | undefined {
    return this.byId.get(id);
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  add(job: JobRecord, phase: Phase): void {
    this.byId.set(job.id, { job, phase, waitingState: job.state, stoppedByShutdown: false });
    this.counts[phase]++;
  }

  /** Move a job to its next phase; false if it is not in flight. */
  move(job: JobRecord, phase: Phase): boolean {
    const entry = this.byId.get(job.id);
    if (!entry) return false;
    this.counts[entry.phase]--;
    this.counts[phase]++;
    entry.phase = phase;
    return true;
  }

  /** The job leaves the dispatcher's hands; false if it was not in flight. */
  remove(job: JobRecord): boolean {
    const entry = this.byId.get(job.id);
    if (!entry) return false;
    this.counts[entry.phase]--;
    this.byId.delete(job.id);
    return true;
  }

  /** The jobs in one phase, in the order they were taken. */
  inPhase(phase: Phase): JobRecord[] {
    const jobs: JobRecord[] = [];
    if (this.counts[phase] > 0) for (const entry of this.byId.values()) if (entry.phase === phase) jobs.push(entry.job);
    return jobs;
  }

  ids(): IterableIterator<string> {
    return this.byId.keys();
  }
}
