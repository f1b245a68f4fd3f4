// Every job kept, by id, in the order the jobs were added: a Map of records, except for the
// jobs parked far back in the ready lists (parked-jobs.ts), under whose ids the Map keeps
// their row's number. To its users it is a Map of records: get() turns a row into the job's
// record (in the same place), read() and listing give a row as a record made for the
// reader (every job in order, for listing), size and has() count rows too. The ready lists park and take jobs
// through park() and take().
import { FINISHED_STATES, type JobRecord, type JobState } from '../jobs.js';
import { type FrozenRows, ParkedJobs, type ParkedListing } from './parked-jobs.js';

/** What the Map holds under an id: the job's record, or the number of its row. */
type Entry = JobRecord | number;

export class JobTable extends Map<string, JobRecord> {
  private readonly parkedJobs = new ParkedJobs();

  override get(id: string): JobRecord | undefined {
    const entry = super.get(id) as Entry | undefined;
    if (typeof entry !== 'number') return entry;
    const job = this.parkedJobs.promote(entry);
    super.set(id, job);
    return job;
  }

  /** A row under this id: its place in its lane is the new record's. */
  override set(id: string, job: JobRecord): this {
    // No row parked (nearly always, unless a backlog is far longer than the ready records kept): no look-up before the insert.
    if (this.parkedJobs.rows > 0) {
      const entry = super.get(id) as Entry | undefined;
      if (typeof entry === 'number') this.parkedJobs.keepAt(entry, job);
    }
    return super.set(id, job);
  }

  /**
   * Only finished jobs leave the table (a forget, an add over an expired result, the result
   * expiry), which the ready lists skip as stale; a parked job, pending, never does.
   */
  override delete(id: string): boolean {
    this.get(id);
    return super.delete(id);
  }

  override clear(): void {
    super.clear();
    this.parkedJobs.clear();
  }

  /** Every job, in the order they were added: a parked one as a record made for the reader (changing it changes nothing). */
  override *values(): MapIterator<JobRecord> {
    for (const entry of super.values() as MapIterator<Entry>) yield typeof entry === 'number' ? this.parkedJobs.copy(entry) : entry;
  }

  override *entries(): MapIterator<[string, JobRecord]> {
    for (const job of this.values()) yield [job.id, job];
  }

  override [Symbol.iterator](): MapIterator<[string, JobRecord]> {
    return this.entries();
  }

  override forEach(fn: (job: JobRecord, id: string, map: Map<string, JobRecord>) => void, thisArg?: unknown): void {
    for (const job of this.values()) fn.call(thisArg, job, job.id, this);
  }

  /**
   * Every job in the order added, as a listing picks from them: a record, or for a parked
   * row what the listing compares (its args stay bytes until the page is chosen: recordOf).
   */
  *listing(): Generator<JobRecord | ParkedListing> {
    for (const entry of super.values() as MapIterator<Entry>) yield typeof entry === 'number' ? this.parkedJobs.listed(entry) : entry;
  }

  /** A job a listing picked, as a record: a row's made for the reader. */
  recordOf(picked: JobRecord | ParkedListing): JobRecord {
    return 'row' in picked ? this.parkedJobs.copy(picked.row) : picked;
  }

  /** The job as a reader sees it: its record, or for a parked row a record made for the reader (the row stays a row). */
  read(id: string): JobRecord | undefined {
    const entry = super.get(id) as Entry | undefined;
    return typeof entry === 'number' ? this.parkedJobs.copy(entry) : entry;
  }

  /** The record under this id, without turning a parked row into one (undefined for a row, as for an unknown id). */
  peek(id: string): JobRecord | undefined {
    const entry = super.get(id) as Entry | undefined;
    return typeof entry === 'number' ? undefined : entry;
  }

  /** Jobs parked as rows: all of them pending, never begun. */
  get parkedRows(): number {
    return this.parkedJobs.rows;
  }

  /** Jobs parked in a priority's lane (rows and records). */
  parkedIn(priority: number): number {
    return this.parkedJobs.count(priority);
  }

  /** Whether any job is in a lane. */
  get parked(): boolean {
    return this.parkedJobs.size > 0;
  }

  /**
   * Put a ready job at the back of its priority's lane. Only the table's own record of a
   * job may become a row; any other (a forgotten job's) joins as itself.
   */
  park(job: JobRecord): void {
    const row = super.get(job.id) === job ? this.parkedJobs.park(job) : this.parkedJobs.park(job, true);
    if (row !== -1) super.set(job.id, row as unknown as JobRecord);
  }

  /** Take the first job of a priority's lane, as the record to run. */
  take(priority: number): JobRecord | undefined {
    const job = this.parkedJobs.shift(priority);
    if (job && this.parkedJobs.tookRow) {
      super.set(job.id, job);
      return job;
    }
    return job && this.claim(job);
  }

  /**
   * A record leaving the ready lists, as the record to run. A job added to them twice
   * (sent by two paths at once) is met twice, maybe once as a row: the row becomes this
   * record (the table's), or, if a look-up made the row a record meanwhile, that record is
   * the one run. The second meeting then finds it taken (or finished) and skips it.
   */
  claim(job: JobRecord): JobRecord {
    if (FINISHED_STATES.has(job.state)) return job;
    const entry = super.get(job.id) as Entry | undefined;
    if (typeof entry === 'number') {
      this.set(job.id, job);
      return job;
    }
    return entry ?? job;
  }

  /** Rows and records as stored: for a snapshot, which frames a row as it meets it instead of making every record first. */
  stored(): IterableIterator<JobRecord | number> {
    return super.values() as MapIterator<Entry>;
  }

  /** Rows as they are now, readable after the jobs change (a snapshot's cut). */
  frozenRows(): FrozenRows {
    return this.parkedJobs.frozen();
  }

  /** The priority of row `row`'s job. */
  rowPriority(row: number): number {
    return this.parkedJobs.priorityOf(row);
  }
}

/**
 * A job table's records, without making one for a parked row: enough for a scan for
 * anything but pending jobs (a row is a pending job that never began). A plain Map's values.
 */
export function* unparkedRecords(jobs: ReadonlyMap<string, JobRecord>): Generator<JobRecord> {
  for (const entry of Map.prototype.values.call(jobs) as MapIterator<Entry>) if (typeof entry !== 'number') yield entry;
}

/** Each job's state, a parked row's without making its record (it is pending). */
export function* jobStates(jobs: ReadonlyMap<string, JobRecord>): Generator<JobState> {
  for (const entry of Map.prototype.values.call(jobs) as MapIterator<Entry>) yield typeof entry === 'number' ? 'pending' : entry.state;
}
