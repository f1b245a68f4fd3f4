// The file store: the only writer of a data dir. Events are appended to the current
// journal segment and made durable with one synchronized write per batch (group commit: every
// commit() that arrives while a flush is in progress rides on the next one). Only after
// a batch is durable are its events applied to the in-memory job table, so that table
// always equals "what the disk holds" — which is what makes a snapshot of it, taken
// between two flushes, a valid replacement for every segment before it.
import { open, readdir, unlink, type FileHandle } from 'node:fs/promises';
import { constants } from 'node:fs';
import { join } from 'node:path';
import type { Low } from 'lowdb';
import { CeleriacError } from '../errors.js';
import { type JobTable, unparkedRecords } from './job-table.js';
import { applyEvent, dropExpiredResults, recoverInterrupted, type JobEvent, type JobRecord } from '../jobs.js';
import { encodeEvent, encodeMark, FORMAT_VERSION, frame, frameAll } from './codec.js';
import { openState, SEGMENT, segmentName, type PartialLoad } from './load.js';
import { acquireLock, type DataDirLock } from './lock.js';
import { ensureDataDir } from './dir-trust.js';
import { createReplacing, fsyncDir, writeAt, writeError } from './io.js';
import { SegmentSpace, zeroChunkBytes } from './segment-space.js';
import type { Snapshot, SnapshotFile } from './snapshot-file.js';
import type { JobStore, RecoveryReport } from './types.js';

// O_DSYNC: each write returns once its data (and the size needed to read it back) is on
// disk, like write + fdatasync but in one trip to the I/O thread pool (measured here:
// 0.42 ms against 0.72 ms per flush).
const APPEND_FLAGS = constants.O_RDWR | constants.O_DSYNC | constants.O_NOFOLLOW;
const CREATE_FLAGS = constants.O_RDWR | constants.O_DSYNC;
/** Longest a note() (progress) waits for a commit to ride on before it is written by itself. */
const LAZY_WRITE_MS = 1000;
/** The journal's write buffer: its first size, and the largest it is kept at (a bigger batch gets a buffer of its own). */
const WRITE_BUFFER_MIN = 64 * 1024;
const WRITE_BUFFER_MAX = 4 * 1024 * 1024;

export interface FileStoreOptions {
  dir: string;
  /** Finished jobs are dropped this long after they finish. */
  resultTtlMs: number;
  /** Fold the journal into the snapshot once this many bytes were appended since the last one. */
  compactAfterBytes: number;
  /** Told about a failed background compaction (the journal stays valid; it is retried later). */
  onBackgroundError?: (err: unknown) => void;
  /**
   * Told once when a journal write fails for a reason other than a full disk (EIO, a
   * read-only remount): the store then refuses every commit with that STORE_FAILED error.
   */
  onFatal?: (err: CeleriacError) => void;
}

interface PendingCommit {
  events: JobEvent[];
  /** The caller's record for each event's job, if it gave them (commit's `records`). */
  records?: readonly JobRecord[];
  /** The records' JSON, encoded at commit() (framed with the rest of the flush). */
  jsons: string[];
  /** A mark to set once durable (writeMark). */
  mark?: { key: string; value: string };
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class FileStore implements JobStore {
  readonly report: RecoveryReport;
  /** Small durable values by key: what the disk holds (set after their write, like `jobs`). */
  private marks = new Map<string, string>();

  private queue: PendingCommit[] = [];
  /** Records of note(): already applied, written at the front of the next flush. */
  private lazy: string[] = [];
  /**
   * Where flushes frame their records (one flush at a time): grown to the largest batch
   * up to WRITE_BUFFER_MAX. A fresh buffer per batch, freed later by the GC, leaves holes
   * in the C heap between the parked jobs' long-lived blocks that it never gives back.
   */
  private writeBuffer = Buffer.allocUnsafeSlow(WRITE_BUFFER_MIN);
  private lazyTimer: NodeJS.Timeout | undefined;
  private flushing = false;
  private barrier: (() => void) | undefined;
  private compacting: Promise<void> | undefined;
  private closed = false;
  private broken: CeleriacError | undefined;
  private lost: CeleriacError | undefined;
  private lostListener: ((err: CeleriacError) => void) | undefined;
  private appliedListener: ((events: JobEvent[]) => void) | undefined;
  private bytesSinceSnapshot = 0;
  /** Until loadRest(): the snapshot's jobs, not yet read. */
  private partial: PartialLoad | undefined;
  private loadStarted = 0;
  /** Resolved once every job is in `jobs`: a compaction waits for it (it writes `jobs` as the whole state). */
  private markLoaded!: () => void;
  /** Every job is in `jobs` (loadRest() succeeded): only then may a snapshot be written. */
  private complete = false;
  private reading: Promise<void> | undefined;
  private readonly loaded = new Promise<void>((resolve) => (this.markLoaded = resolve));

  private constructor(
    private readonly opts: FileStoreOptions,
    readonly jobs: JobTable,
    private readonly lock: DataDirLock,
    private readonly db: Low<Snapshot>,
    /** db's adapter: finished jobs' args are read from the snapshot it last read or wrote. */
    private readonly snapshot: SnapshotFile,
    private fh: FileHandle,
    private segment: number,
    private offset: number,
    /** The current segment's zeroed space ahead of `offset` (segment-space.ts). */
    private space: SegmentSpace,
    report: RecoveryReport,
  ) {
    this.report = report;
  }

  /** Open a data dir and read all of it. */
  static async open(opts: FileStoreOptions): Promise<FileStore> {
    const store = await FileStore.begin(opts);
    try {
      await store.loadRest();
    } catch (err) {
      await store.close();
      throw err;
    }
    return store;
  }

  /**
   * Open a data dir for writing, having read its journal but not yet its snapshot's jobs:
   * call `loadRest()` next. Commits work meanwhile, for jobs `loadRest()` has handed out.
   */
  static async begin(opts: FileStoreOptions): Promise<FileStore> {
    const dir = opts.dir;
    await ensureDataDir(dir);
    const lock = await acquireLock(dir);
    try {
      const store = await FileStore.load(opts, lock);
      lock.watch((err) => store.lose(err));
      return store;
    } catch (err) {
      await lock.release();
      throw err;
    }
  }

  private static async load(opts: FileStoreOptions, lock: DataDirLock): Promise<FileStore> {
    const { dir } = opts;
    const started = performance.now();
    const state = await openState(dir, { readOnly: false });
    try {
      const { report, db, lastValid } = state;
      const segments = state.segments;
      // Leftovers of a compaction that crashed after its snapshot landed: already folded in.
      for (const n of state.staleSegments) await unlink(join(dir, segmentName(n)));
      // Segments a compaction created but never wrote to, after the one a kill tore: empty.
      for (const n of state.abandonedSegments) await unlink(join(dir, segmentName(n)));
      if (state.abandonedSegments.length > 0) await fsyncDir(dir);

      let segment: number;
      let fh: FileHandle;
      let offset: number;
      const last = segments.at(-1);
      if (last !== undefined && lastValid > 0) {
        segment = last;
        fh = await open(join(dir, segmentName(last)), APPEND_FLAGS, 0o600);
        if (report.truncated) {
          // Cut the torn tail off so that new records follow the valid prefix directly.
          await fh.truncate(lastValid);
          await fh.datasync();
        }
        offset = lastValid;
      } else {
        if (last !== undefined) {
          await unlink(join(dir, segmentName(last))); // a segment whose header never landed
          segments.pop(); // gone
        }
        // A headerless newest segment is replaced under its own number: segments are
        // numbered without gaps (load.ts refuses a gap as a lost segment).
        segment = Math.max(db.data.journalFrom, last ?? 1);
        ({ fh, offset } = await createSegment(dir, segment));
      }
      // lastEnd is lastValid when the tail was torn (cut off above) or there were no zeros.
      const space = spaceOf(opts, segment, Math.max(offset, state.lastEnd));
      const store = new FileStore(opts, state.jobs, lock, db, state.snapshot, fh, segment, offset, space, report);
      store.marks = state.marks;
      store.partial = state;
      store.loadStarted = started;
      store.bytesSinceSnapshot = state.journalBytes;
      space.afterWrite(offset);
      return store;
    } catch (err) {
      await state.db.data.body?.close();
      await state.snapshot.close();
      throw err;
    }
  }

  /**
   * Read the snapshot's jobs. `onJobs` receives the jobs that may need scheduling, in the
   * order they should run: first, while the rest is still being read, those that run
   * before any job not yet read (load.ts); then, once all is read, every other. Jobs that
   * were running when the previous process stopped are given back (durably, flagged
   * recovered) before they are handed over.
   */
  async loadRest(onJobs?: (jobs: JobRecord[]) => void): Promise<void> {
    const state = this.partial;
    if (!state) throw new Error('loadRest() called twice');
    this.partial = undefined;
    const reading = this.readRest(state, onJobs);
    this.reading = reading;
    try {
      await reading;
      this.complete = true;
    } finally {
      this.markLoaded();
    }
  }

  private async readRest(state: PartialLoad, onJobs?: (jobs: JobRecord[]) => void): Promise<void> {
    const report = this.report;
    let interruptedEarly = 0;
    const early =
      onJobs &&
      (async (jobs: JobRecord[]) => {
        const stale = jobs.filter((j) => j.state === 'started').map((j) => j.id);
        if (stale.length > 0) interruptedEarly += await this.requeueInterrupted(stale);
        onJobs(jobs);
      });
    const { interrupted, late } = await state.rest(early, () => this.closed);
    report.droppedResults = dropExpiredResults(this.jobs, Date.now(), this.opts.resultTtlMs, unparkedRecords(this.jobs));
    report.found.finished -= report.droppedResults;
    report.interrupted = interruptedEarly + (await this.requeueInterrupted(interrupted));
    report.loadMs = Math.round(performance.now() - this.loadStarted);
    onJobs?.(late);
  }

  /** The ready lists' backs are parked in the job table. */
  get parking(): JobTable {
    return this.jobs;
  }

  get dir(): string {
    return this.opts.dir;
  }

  /** Set once a write failed for a reason other than a full disk: every commit is refused with it. */
  get failure(): CeleriacError | undefined {
    return this.broken;
  }

  /**
   * Interrupted jobs go back to pending, flagged recovered, through a journaled requeue
   * (the `q` event, not reverted) rather than in memory only. Had the journal kept them
   * `started`, a later replay would drop the next process's `start` of them (applyEvent
   * ignores a start of a started job): the attempt that ran after the crash vanished at
   * the following open (attempts and `recovered` wrong in app.get(), the next rerun saw
   * the same attempt number again), and an expire or a never-began requeue of a
   * recovered job replayed wrongly. Found by test/torture (npm run torture). If the
   * write fails (disk full), the change is made in memory only, as before.
   */
  private async requeueInterrupted(ids: string[]): Promise<number> {
    if (ids.length === 0) return 0;
    const at = Date.now();
    try {
      await this.commit(ids.map((id) => ({ type: 'requeue', id, at, revert: false })));
    } catch {
      recoverInterrupted(this.jobs, ids);
    }
    return ids.length;
  }

  /** The dir is no longer this store's: refuse every commit from now on, and say so. */
  private lose(err: CeleriacError): void {
    if (this.closed || this.lost) return;
    this.lost = err;
    this.broken = err;
    this.lostListener?.(err);
  }

  /** Told after each flush, with the events it made durable and applied to `jobs` (for event listeners). */
  onApplied(listener: (events: JobEvent[]) => void): void {
    this.appliedListener = listener;
  }

  onLost(listener: (err: CeleriacError) => void): void {
    this.lostListener = listener;
    if (this.lost) listener(this.lost);
  }

  /**
   * Resolves once every event is durable and applied to `jobs`; rejects with nothing written.
   * `records[i]`: the caller's record for event i's job, applied to without a look-up while
   * it is not finished (see applyEvent).
   */
  commit(events: JobEvent[], records?: readonly JobRecord[]): Promise<void> {
    return this.enqueue(events, events.map(encodeEvent), undefined, records);
  }

  /** The value last written under `key` (durable), or undefined. */
  readMark(key: string): string | undefined {
    return this.marks.get(key);
  }

  /** Durably set `key` to `value` (a journal record, carried into every snapshot after). */
  writeMark(key: string, value: string): Promise<void> {
    return this.enqueue([], [encodeMark(key, value)], { key, value });
  }

  private enqueue(
    events: JobEvent[],
    jsons: string[],
    mark?: { key: string; value: string },
    records?: readonly JobRecord[],
  ): Promise<void> {
    if (this.closed) return Promise.reject(new CeleriacError('APP_CLOSED', `the store of ${this.opts.dir} is closed`));
    if (this.broken) return Promise.reject(this.broken);
    return new Promise<void>((resolve, reject) => {
      this.queue.push(mark ? { events, records, jsons, mark, resolve, reject } : { events, records, jsons, resolve, reject });
      if (!this.flushing) {
        this.flushing = true;
        // Wait one microtask turn so that every commit made in this tick shares the flush.
        queueMicrotask(() => void this.flushLoop());
      }
    });
  }

  note(events: JobEvent[]): void {
    if (this.closed || this.broken) return;
    const applied = events.filter((ev) => applyEvent(this.jobs, ev) !== undefined);
    if (applied.length === 0) return;
    for (const ev of applied) this.lazy.push(encodeEvent(ev));
    this.appliedListener?.(applied);
    if (!this.lazyTimer) {
      this.lazyTimer = setTimeout(() => {
        this.lazyTimer = undefined;
        if (this.lazy.length > 0 && !this.closed) this.commit([]).catch(() => undefined);
      }, LAZY_WRITE_MS);
      this.lazyTimer.unref();
    }
  }

  private async flushLoop(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue;
        this.queue = [];
        const lazy = this.lazy;
        this.lazy = [];
        const jsons = batch.length === 1 ? batch[0]!.jsons : batch.flatMap((c) => c.jsons);
        const buf = frameAll(lazy.length > 0 ? [...lazy, ...jsons] : jsons, this.writeBuffer);
        if (buf.buffer !== this.writeBuffer.buffer && buf.length <= WRITE_BUFFER_MAX)
          this.writeBuffer = Buffer.allocUnsafeSlow(Math.min(WRITE_BUFFER_MAX, Math.max(buf.length, 2 * this.writeBuffer.length)));
        if (buf.length === 0) {
          for (const c of batch) c.resolve();
          continue;
        }
        try {
          if (this.broken) throw this.broken;
          const zeroing = this.space.beforeWrite(this.offset + buf.length);
          if (zeroing) await zeroing;
          // Durable on return (O_DSYNC). Nearly always written whole by the first call: the
          // rest, if any, through writeAt (no extra async frame between the write and the resolves).
          const { bytesWritten } = await this.fh.write(buf, 0, buf.length, this.offset);
          if (bytesWritten < buf.length) await writeAt(this.fh, buf.subarray(bytesWritten), this.offset + bytesWritten);
        } catch (err) {
          const error = writeError(err, `journal ${segmentName(this.segment)}`);
          // A full disk is the one failure the store lives through (space can be freed); any other leaves the journal in doubt.
          if (error.code === 'DISK_FULL') await this.undoPartialWrite(error);
          else this.fail(error);
          for (const c of batch) c.reject(this.broken ?? error);
          continue;
        }
        this.offset += buf.length;
        this.bytesSinceSnapshot += buf.length;
        this.space.afterWrite(this.offset);
        for (const c of batch) {
          const records = c.records;
          for (let i = 0; i < c.events.length; i++) applyEvent(this.jobs, c.events[i]!, records?.[i]);
          if (c.mark) this.marks.set(c.mark.key, c.mark.value);
        }
        for (const c of batch) c.resolve();
        if (this.appliedListener) this.appliedListener(batch.length === 1 ? batch[0]!.events : batch.flatMap((c) => c.events));
        this.runBarrier();
        if (this.bytesSinceSnapshot >= this.opts.compactAfterBytes && !this.compacting && !this.closed) {
          this.compact().catch((err) => this.opts.onBackgroundError?.(err));
        }
      }
    } finally {
      this.flushing = false;
      this.runBarrier();
    }
  }

  /** A failed write may have left part of the batch on disk: cut it off, or stop accepting. */
  private async undoPartialWrite(cause: CeleriacError): Promise<void> {
    try {
      await this.fh.truncate(this.offset);
      await this.fh.datasync();
      this.space.truncatedTo(this.offset);
    } catch (err) {
      this.fail(
        new CeleriacError('STORE_WRITE_FAILED', `${cause.message}; then cutting off the partial write failed: ${(err as Error).message}`, {
          cause: err,
        }),
      );
    }
  }

  /** The journal can no longer be trusted: refuse every commit from now on, and say so once. */
  private fail(cause: CeleriacError): void {
    if (this.broken) return;
    this.broken = new CeleriacError(
      'STORE_FAILED',
      `the data dir ${this.opts.dir} failed: ${cause.message}. No further jobs are accepted and the app stops; every job acknowledged before ` +
        `is on disk; a send refused with this error may or may not have reached it (resend it with the same id after the restart: ids dedupe). ` +
        `Check the disk (dmesg), then restart the app ('celeriac doctor' checks the data dir).`,
      { cause },
    );
    this.opts.onFatal?.(this.broken);
  }

  /** Runs the pending segment switch, if any; called only between two flushes. */
  private runBarrier(): void {
    const run = this.barrier;
    if (run) {
      this.barrier = undefined;
      run();
    }
  }

  /**
   * Fold everything durable so far into a new snapshot and delete the journal segments
   * it covers. Appends continue meanwhile, into a fresh segment.
   */
  compact(): Promise<void> {
    if (this.lost) return Promise.reject(this.lost); // its paths may now name another owner's files
    if (this.compacting) return this.compacting;
    this.compacting = this.loaded
      .then(() => (this.complete && !this.closed ? this.doCompact() : undefined))
      .finally(() => {
        this.compacting = undefined;
      });
    return this.compacting;
  }

  private async doCompact(): Promise<void> {
    const next = this.segment + 1;
    const { fh, offset } = await createSegment(this.opts.dir, next);
    const space = spaceOf(this.opts, next, offset);
    space.afterWrite(offset); // zeroed while the snapshot is written
    let retired: SegmentSpace | undefined;
    // Switch segments and fix the snapshot's content between two flushes.
    const written = new Promise<Promise<void>>((resolve) => {
      this.barrier = () => {
        const old = this.fh;
        this.fh = fh;
        this.segment = next;
        this.offset = offset;
        retired = this.space;
        this.space = space;
        this.bytesSinceSnapshot = 0;
        dropExpiredResults(this.jobs, Date.now(), this.opts.resultTtlMs, unparkedRecords(this.jobs));
        this.db.data = {
          version: FORMAT_VERSION,
          journalFrom: next,
          createdAt: Date.now(),
          jobs: this.jobs.stored(),
          rows: this.jobs,
          marks: this.marks,
        };
        const writing = this.db.write(); // serializes synchronously, here
        this.db.data = { ...this.db.data, jobs: [] };
        resolve(writing.finally(() => old.close()));
      };
      if (!this.flushing) this.runBarrier();
    });
    try {
      await written;
    } finally {
      await retired?.settle(); // its zeroing may still write to the old segment's file
    }
    const names = await readdir(this.opts.dir);
    for (const name of names) {
      const m = SEGMENT.exec(name);
      if (m && Number(m[1]) < next) await unlink(join(this.opts.dir, name));
    }
    await fsyncDir(this.opts.dir);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    clearTimeout(this.lazyTimer);
    if (this.lazy.length > 0 && !this.broken && !this.partial) await this.commit([]).catch(() => undefined);
    if (this.closed) return;
    this.closed = true;
    await this.reading?.catch(() => undefined); // it stops at its next slice
    await this.partial?.db.data.body?.close(); // begun, never loaded
    while (this.flushing || this.queue.length > 0) await new Promise((r) => setImmediate(r));
    if (this.compacting) await this.compacting.catch(() => undefined);
    await this.space.settle(); // a compaction (awaited above) settles the space of the segment it retired
    await this.snapshot.close();
    await this.fh.close().catch((err: unknown) => {
      if (!this.broken) throw err;
    });
    await this.lock.release();
  }
}

/** The zeroed space of segment `n`, whose zeros end at `zeroedTo`. */
function spaceOf(opts: FileStoreOptions, n: number, zeroedTo: number): SegmentSpace {
  return new SegmentSpace(join(opts.dir, segmentName(n)), zeroedTo, zeroChunkBytes(opts.compactAfterBytes));
}

async function createSegment(dir: string, n: number): Promise<{ fh: FileHandle; offset: number }> {
  const path = join(dir, segmentName(n));
  const fh = await createReplacing(path, CREATE_FLAGS);
  try {
    const header = Buffer.from(frame(`{"o":"h","k":"journal","v":${FORMAT_VERSION},"g":${n}}`));
    await writeAt(fh, header, 0);
    await fsyncDir(dir);
    return { fh, offset: header.length };
  } catch (err) {
    await fh.close().catch(() => undefined);
    throw writeError(err, `journal ${path}`);
  }
}
