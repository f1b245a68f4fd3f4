import type { CeleriacError } from '../errors.js';
import type { JobEvent, JobRecord } from '../jobs.js';

/** What a restart found. */
export interface RecoveryReport {
  snapshotJobs: number;
  replayedRecords: number;
  /** Jobs that were running when the previous process stopped: they run again, flagged `recovered`. */
  interrupted: number;
  /** Finished jobs dropped because their results outlived the retention time. */
  droppedResults: number;
  /**
   * Set when the last journal record was torn by a crash and cut off: where, and how many
   * bytes it left (up to the last non-zero one: the segment's preallocated zeros after it
   * are not counted).
   */
  truncated?: { file: string; offset: number; bytes: number };
  loadMs: number;
  /**
   * Jobs on record as the open found them, before any ran again (with `start: true` some
   * run while the rest is read): waiting (interrupted ones included: they run again),
   * retrying (waiting for a retry countdown), and finished (results kept).
   */
  found: { pending: number; retrying: number; finished: number };
}

/** A report of nothing found yet: what an open starts from, and what a broker (no restart to read) keeps. */
export function emptyRecoveryReport(): RecoveryReport {
  return {
    snapshotJobs: 0,
    replayedRecords: 0,
    interrupted: 0,
    droppedResults: 0,
    loadMs: 0,
    found: { pending: 0, retrying: 0, finished: 0 },
  };
}

/**
 * Where the ready lists keep their backs: jobs parked in the job table in a compact form
 * (job-table.ts), each priority's in the order they were parked.
 */
export interface Parking {
  /** Jobs parked for this priority. */
  parkedIn(priority: number): number;
  /** Whether any job is parked. */
  readonly parked: boolean;
  park(job: JobRecord): void;
  /** A job taken from a list's front, as the record to run (see JobTable.claim). */
  claim(job: JobRecord): JobRecord;
  /** The first parked job of this priority, as the job's record. */
  take(priority: number): JobRecord | undefined;
}

/**
 * The seam between the scheduler and durability. The scheduler never touches files:
 * it commits events and reads the job table. The file journal is the first
 * implementation; a Redis-backed one can take its place.
 */
export interface JobStore {
  /** The durable state: every event whose commit resolved is applied here, nothing else. */
  readonly jobs: ReadonlyMap<string, JobRecord>;
  readonly report: RecoveryReport;
  /** Where the ready lists may park jobs far back; absent: every ready job stays a record. */
  readonly parking?: Parking;
  /**
   * Durably record events; resolves after they are on disk and applied to `jobs`.
   * `records[i]`, if given, is the record the caller holds for event i's job: applied to
   * without a look-up while it is not finished (see applyEvent).
   */
  commit(events: JobEvent[], records?: readonly JobRecord[]): Promise<void>;
  /**
   * Record events that may be lost in a crash (progress): applied to `jobs` and told to
   * onApplied at once, written with the next commit's write (or within a second), never
   * synced on their own. Optional: a store without it gets them through commit().
   */
  note?(events: JobEvent[]): void;
  /** Fold history into a snapshot and drop results past their retention time. */
  compact(): Promise<void>;
  close(): Promise<void>;
  /** Told once if the store can no longer write safely (its data dir removed or replaced, its lock taken): every commit is refused from then on. */
  onLost?(listener: (err: CeleriacError) => void): void;
  /** Told after each write with the events it made durable and applied to `jobs`. */
  onApplied?(listener: (events: JobEvent[]) => void): void;
}
