// Jobs far back in the ready lists, kept as rows of numbers and bytes instead of records:
// a job waiting behind thousands of others needs its task, args, priority and times, not
// an object of twenty fields and its own args string. Each priority has a lane, the back
// of its ready list, in the order jobs joined it. A job that never began and has only the
// fields every job has becomes a row (numbered: the job table keeps the number under the
// job's id); any other joins the lane as its record, so that the lane keeps the ready
// order whatever it holds. A row becomes a record again when it is taken to run, or when
// someone asks for the job (then it stays in its place in the lane, as that record).
import { newRecord, type JobRecord, type NewJob } from '../jobs.js';

/** A parked row as a listing sees it before it picks a page (see ParkedJobs.listed). */
export interface ParkedListing {
  readonly id: string;
  readonly createdAt: number;
  readonly task: string;
  readonly state: 'pending';
  readonly row: number;
}

/** Rows per block: a block's columns are allocated, and freed, together. */
const BLOCK_ROWS = 1024;
/** Bytes of args per block (a block also ends when they are full). */
const BLOCK_BYTES = 128 * 1024;
/** Longer args (UTF-16 units) keep their record. */
const MAX_ARGS_LENGTH = 64 * 1024;
/** Fewer task names than this: a task is a 16-bit number in its row. */
const MAX_TASKS = 0xffff;

/**
 * Buffer's own encoders, without write()'s and toString()'s argument handling (most of the
 * cost, for strings this short): in every Node release, not in its types.
 */
type StringBytes = Buffer & {
  utf8Write(text: string, offset: number): number;
  utf8Slice(start: number, end: number): string;
};

/**
 * One block of a lane: up to BLOCK_ROWS jobs, as columns, plus the records of the jobs that
 * are not rows. A row is written once and never changed in place (slots are not reused, a
 * take leaves the row's columns, bytes and id, seal() copies the bytes as they are): a
 * snapshot reads rows after its cut relying on it (FrozenRows).
 */
class Block {
  readonly createdAt = new Float64Array(BLOCK_ROWS);
  /** Made once a row has a value other than 0 (nearly every job is due at once and never expires). */
  runAt: Float64Array | undefined;
  expiresAt: Float64Array | undefined;
  /** Where the row's args end in `bytes` (they start where the previous row's end). */
  readonly argsEnd = new Uint32Array(BLOCK_ROWS);
  readonly task = new Uint16Array(BLOCK_ROWS);
  /** The job's id, by slot (the job table's key: the same string). */
  readonly ids: string[] = [];
  bytes: StringBytes;
  /** The jobs that are records, by slot (rows have none). */
  records: (JobRecord | undefined)[] | undefined;
  /** Slots used. */
  size = 0;
  /** Slots taken from the front. */
  head = 0;
  /** Bytes used. */
  used = 0;

  constructor(
    /** The block's number: its slots are rows `no * BLOCK_ROWS + slot`. */
    readonly no: number,
    readonly priority: number,
    bytes: number,
  ) {
    this.bytes = Buffer.allocUnsafe(bytes) as StringBytes;
  }

  isRow(slot: number): boolean {
    return this.records?.[slot] === undefined;
  }

  keep(slot: number, job: JobRecord): void {
    (this.records ??= [])[slot] = job;
  }

  /** Where the row's args start in `bytes` (they end at argsEnd[slot]). */
  argsStart(slot: number): number {
    return slot === 0 ? 0 : this.argsEnd[slot - 1]!;
  }

  argsOf(slot: number): string {
    return this.bytes.utf8Slice(this.argsStart(slot), this.argsEnd[slot]!);
  }

  /** No row is added any more: the bytes it did not use are given back. */
  seal(): void {
    if (this.bytes.length - this.used < 4096) return;
    const bytes = Buffer.allocUnsafe(this.used) as StringBytes;
    this.bytes.copy(bytes, 0, 0, this.used);
    this.bytes = bytes;
  }
}

/** A priority's parked jobs, oldest first. */
class Lane {
  readonly blocks: Block[] = [];
  /** Jobs in the lane (rows and records). */
  size = 0;

  constructor(readonly priority: number) {}
}

export class ParkedJobs {
  private readonly lanes = new Map<number, Lane>();
  private readonly blocks = new Map<number, Block>();
  private nextBlock = 0;
  private readonly taskNames: string[] = [];
  private readonly taskNumbers = new Map<string, number>();
  /** Jobs parked as rows. */
  rows = 0;
  /** Jobs parked as records. */
  private kept = 0;
  /** The block priorityOf() last looked up. */
  private lastBlock: Block | undefined;
  /** Whether the last shift() took a row (a new record), not a record. */
  tookRow = false;
  /** What a row is turned back into a record from (one object, refilled each time). */
  private readonly fields: NewJob = { id: '', task: '', args: '', createdAt: 0, runAt: 0, expiresAt: 0, priority: 0 };

  /** Jobs parked in a priority's lane (rows and records). */
  count(priority: number): number {
    return this.lanes.get(priority)?.size ?? 0;
  }

  /**
   * Park a job at the back of its priority's lane: the number of its row, which the caller
   * keeps in place of its record; or -1 when it joined the lane as its record (always, with
   * `asRecord`).
   */
  park(job: JobRecord, asRecord = false): number {
    const lane = this.laneOf(job.priority);
    lane.size++;
    const task = !asRecord && rowable(job) ? this.taskNumber(job.task) : -1;
    if (task === -1) {
      const block = this.room(lane, 0);
      const slot = block.size++;
      block.argsEnd[slot] = block.used; // no args here: the next row's start where the previous one's end
      block.ids[slot] = job.id;
      block.keep(slot, job);
      this.kept++;
      return -1;
    }
    const args = job.args as string;
    // A UTF-16 unit takes at most 3 bytes in UTF-8: most args fit without being measured.
    let size = args.length * 3;
    if (size > BLOCK_BYTES) size = Buffer.byteLength(args);
    const block = this.room(lane, size);
    const slot = block.size++;
    block.used += block.bytes.utf8Write(args, block.used);
    block.argsEnd[slot] = block.used;
    block.ids[slot] = job.id;
    block.task[slot] = task;
    block.createdAt[slot] = job.createdAt;
    if (job.runAt !== 0) (block.runAt ??= new Float64Array(BLOCK_ROWS))[slot] = job.runAt;
    if (job.expiresAt !== 0) (block.expiresAt ??= new Float64Array(BLOCK_ROWS))[slot] = job.expiresAt;
    this.rows++;
    return block.no * BLOCK_ROWS + slot;
  }

  /**
   * Take the first job of a priority's lane: a row as a new record (tookRow: the caller
   * puts it in place of the row's number), else its record.
   */
  shift(priority: number): JobRecord | undefined {
    const lane = this.lanes.get(priority);
    if (!lane) return undefined;
    const block = lane.blocks[0]!;
    const slot = block.head++;
    let job: JobRecord;
    this.tookRow = block.isRow(slot);
    if (this.tookRow) {
      job = this.record(block, slot);
      this.rows--;
    } else {
      job = block.records![slot]!;
      block.records![slot] = undefined;
      this.kept--;
    }
    if (--lane.size === 0) {
      this.lanes.delete(priority);
      this.dropBlock(block);
    } else if (block.head === block.size) {
      lane.blocks.shift();
      this.dropBlock(block);
    }
    return job;
  }

  /** The job of row `row` as its record from now on: it keeps its place in its lane. */
  promote(row: number): JobRecord {
    const job = this.copy(row);
    this.keepAt(row, job);
    return job;
  }

  /** Row `row`'s place in its lane is taken by this record (the job's, which the table holds from now on). */
  keepAt(row: number, job: JobRecord): void {
    this.blockOf(row).keep(row % BLOCK_ROWS, job);
    this.rows--;
    this.kept++;
  }

  /** The priority of row `row`'s job. */
  priorityOf(row: number): number {
    // Asked row after row by a snapshot's cut: the block of the last row asked is kept.
    const no = Math.floor(row / BLOCK_ROWS);
    if (no !== this.lastBlock?.no) this.lastBlock = this.blocks.get(no)!;
    return this.lastBlock.priority;
  }

  /** Row `row` as a record made for a reader (changing it changes nothing). */
  copy(row: number): JobRecord {
    return this.record(this.blockOf(row), row % BLOCK_ROWS);
  }

  /** What a listing picks by, of row `row`: its id, creation time and task (its state is pending), no args. */
  listed(row: number): ParkedListing {
    const block = this.blockOf(row);
    const slot = row % BLOCK_ROWS;
    return { id: block.ids[slot]!, createdAt: block.createdAt[slot]!, task: this.taskNames[block.task[slot]!]!, state: 'pending', row };
  }

  /**
   * Rows as they are now, readable later: a row never changes in place (taken to run or
   * made a record, its columns and bytes stay as they were until its block goes), so a
   * reader that holds today's blocks reads each row as it was when it was made, whatever
   * happened to the job since. For a snapshot, which frames rows after its cut, from
   * their bytes.
   */
  frozen(): FrozenRows {
    return new FrozenRows(new Map(this.blocks), this.taskNames);
  }

  /** Jobs in the lanes, rows and records. */
  get size(): number {
    return this.rows + this.kept;
  }

  clear(): void {
    this.kept = 0;
    this.lanes.clear();
    this.blocks.clear();
    this.lastBlock = undefined;
    this.rows = 0;
  }

  /** A block all of whose jobs were taken. */
  private dropBlock(block: Block): void {
    this.blocks.delete(block.no);
    if (this.lastBlock === block) this.lastBlock = undefined;
  }

  private blockOf(row: number): Block {
    return this.blocks.get(Math.floor(row / BLOCK_ROWS))!;
  }

  private record(block: Block, slot: number): JobRecord {
    const f = this.fields;
    readFields(f, block, slot, this.taskNames);
    f.args = block.argsOf(slot);
    return newRecord(f);
  }

  private laneOf(priority: number): Lane {
    let lane = this.lanes.get(priority);
    if (!lane) this.lanes.set(priority, (lane = new Lane(priority)));
    return lane;
  }

  /** The lane's last block if it has a slot and `bytes` free, else a new last block. */
  private room(lane: Lane, bytes: number): Block {
    const last = lane.blocks[lane.blocks.length - 1];
    if (last && last.size < BLOCK_ROWS && last.bytes.length - last.used >= bytes) return last;
    last?.seal();
    const block = new Block(this.nextBlock++, lane.priority, Math.max(BLOCK_BYTES, bytes));
    lane.blocks.push(block);
    this.blocks.set(block.no, block);
    return block;
  }

  /** The task's number in rows; -1 when there are too many names. */
  private taskNumber(task: string): number {
    let n = this.taskNumbers.get(task);
    if (n === undefined) {
      if (this.taskNames.length >= MAX_TASKS) return -1;
      n = this.taskNames.push(task) - 1;
      this.taskNumbers.set(task, n);
    }
    return n;
  }
}

/**
 * Whether a job can be a row: waiting, never begun, with no field but those of every job,
 * and args in memory that survive a round trip through UTF-8.
 */
function rowable(job: JobRecord): boolean {
  return (
    job.state === 'pending' &&
    job.attempts === 0 &&
    job.retries === 0 &&
    !job.recovered &&
    job.maxRetries === undefined &&
    job.retryDelay === undefined &&
    job.startedAt === undefined &&
    job.finishedAt === undefined &&
    job.result === undefined &&
    job.error === undefined &&
    job.progress === undefined &&
    job.queue === undefined &&
    job.link === undefined &&
    job.slot === undefined &&
    typeof job.args === 'string' &&
    job.args.length <= MAX_ARGS_LENGTH &&
    isWellFormed(job.args)
  );
}

/** What every row has, but its args. */
type RowFields = Pick<NewJob, 'id' | 'task' | 'createdAt' | 'runAt' | 'expiresAt' | 'priority'>;

/** Fill `into` with the fields of row `slot` of `block`, its args aside. */
function readFields(into: RowFields, block: Block, slot: number, taskNames: readonly string[]): void {
  into.id = block.ids[slot]!;
  into.task = taskNames[block.task[slot]!]!;
  into.createdAt = block.createdAt[slot]!;
  into.runAt = block.runAt?.[slot] ?? 0;
  into.expiresAt = block.expiresAt?.[slot] ?? 0;
  into.priority = block.priority;
}

/** No lone surrogate (which UTF-8 cannot carry). */
function isWellFormed(s: string): boolean {
  return (s as unknown as { isWellFormed(): boolean }).isWellFormed();
}

/** Rows as they were when frozen (ParkedJobs.frozen), read one at a time without a record or an args string each. */
export class FrozenRows {
  /** Row `read()`'s fields: one record, refilled by each call; its args are left out (see bytes). */
  readonly job: JobRecord = newRecord({ id: '', task: '', args: '', createdAt: 0, runAt: 0, expiresAt: 0, priority: 0 });
  /** Row `read()`'s args, as UTF-8: `bytes` from `start` to `end`. */
  bytes: Buffer = Buffer.alloc(0);
  start = 0;
  end = 0;

  constructor(
    private readonly blocks: ReadonlyMap<number, Block>,
    private readonly taskNames: readonly string[],
  ) {}

  /** Fill `job`, `bytes`, `start` and `end` with row `row`. */
  read(row: number): void {
    const block = this.blocks.get(Math.floor(row / BLOCK_ROWS))!;
    const slot = row % BLOCK_ROWS;
    readFields(this.job, block, slot, this.taskNames);
    this.bytes = block.bytes;
    this.start = block.argsStart(slot);
    this.end = block.argsEnd[slot]!;
  }
}
