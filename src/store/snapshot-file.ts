// The compacted state, kept through lowdb: `Low<Snapshot>` with an adapter of our own,
// because the stock JSONFile adapter neither fsyncs nor checksums, and one JSON document
// of a million jobs is slow to parse in one piece. On disk: a header line, one
// checksummed line per job (the unfinished ones first, best first: a restart runs them
// while it reads the rest), and a trailer with the count — written to a temp file,
// fsync'd, renamed over the old one, and the directory fsync'd (atomic replace). Read
// back in slices (SnapshotBody, snapshot-body.ts), not as one buffer.
import { constants } from 'node:fs';
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { Adapter } from 'lowdb';
import pRetry from 'p-retry';
import { CeleriacError } from '../errors.js';
import { FINISHED_STATES, type JobRecord } from '../jobs.js';
import { decodeEvent, decodeMarks, FORMAT_VERSION } from './codec.js';
import { recordText, scanLines } from './scan.js';
import { createReplacing, fsyncDir, isTransientIoError, READ_NOFOLLOW, writeAt, writeError } from './io.js';
import { type Places, SnapshotLines } from './snapshot-lines.js';
import type { FrozenRows } from './parked-jobs.js';
import { ArgsFile, StoredArgs } from './stored-args.js';
import { FIRST_SLICE, SnapshotBody } from './snapshot-body.js';

export interface Snapshot {
  version: number;
  /** The first journal segment that is not folded into this snapshot. */
  journalFrom: number;
  createdAt: number;
  /** The jobs to write. Empty after read(): read() gives `body` instead. A number is a parked row of `rows`. */
  jobs: Iterable<JobRecord | number>;
  /** The rows the numbers among `jobs` name (the job table's parked jobs: all pending). */
  rows?: ParkedRows;
  /** Small durable values by key (FileStore.writeMark), in the header line ("m"). */
  marks?: ReadonlyMap<string, string>;
  /** After read(): the job lines, decoded a slice at a time as the loader asks for them. */
  body?: SnapshotBody;
}

/** Parked rows, by number: read as the snapshot frames them, so that they are never all records at once. */
export interface ParkedRows {
  /** The rows as they are at the call, readable after the jobs change. */
  frozenRows(): FrozenRows;
  rowPriority(row: number): number;
}

/**
 * Jobs that will run again first — waiting ones, and started ones (given back at a close,
 * or interrupted by a crash) — best first (higher priority, then the table's order, which
 * is the order they came in); then the finished ones. A restart can run the first jobs it
 * reads before it has read them all (see load.ts).
 */
function dispatchOrder(jobs: Iterable<JobRecord | number>, rows?: ParkedRows): { ordered: (JobRecord | number)[][]; runnable: number } {
  const byPriority = new Map<number, (JobRecord | number)[]>();
  const finished: JobRecord[] = [];
  let runnable = 0;
  // Jobs in a row nearly always share a priority: the last bucket is kept at hand.
  let lastPriority = Number.NaN;
  let bucket: (JobRecord | number)[] = [];
  for (const job of jobs) {
    if (typeof job !== 'number' && FINISHED_STATES.has(job.state)) {
      finished.push(job);
      continue;
    }
    const priority = typeof job === 'number' ? rows!.rowPriority(job) : job.priority;
    if (priority !== lastPriority) {
      let found = byPriority.get(priority);
      if (!found) byPriority.set(priority, (found = []));
      bucket = found;
      lastPriority = priority;
    }
    bucket.push(job);
    runnable++;
  }
  const priorities = [...byPriority.keys()].sort((a, b) => b - a);
  return { ordered: [...priorities.map((p) => byPriority.get(p)!), finished], runnable };
}

export interface SnapshotFileOptions {
  /**
   * The owner's: finished jobs' args are left on disk, in the snapshot (StoredArgs), both
   * as read and as written. Readers keep them as text.
   */
  leaveFinishedArgs?: boolean;
}

export class SnapshotFile implements Adapter<Snapshot> {
  /** The snapshot finished jobs' args are read from (leaveFinishedArgs): the latest read or written. */
  private argsFile: ArgsFile | undefined;

  constructor(
    readonly path: string,
    private readonly opts: SnapshotFileOptions = {},
  ) {}

  /** Close the file finished jobs' args are read from (the store is closing). */
  async close(): Promise<void> {
    await this.argsFile?.close();
  }

  /** The header, checked; the job lines are left to `body`, read as the caller asks. */
  async read(): Promise<Snapshot | null> {
    let fh: FileHandle;
    try {
      fh = await open(this.path, READ_NOFOLLOW);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    try {
      return await this.readHeader(fh);
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  private async readHeader(fh: FileHandle): Promise<Snapshot> {
    // The header line is short; a first slice holds it and the first jobs.
    let buf: Buffer = Buffer.alloc(0);
    let nl = -1;
    while (nl === -1) {
      const chunk = Buffer.allocUnsafe(FIRST_SLICE);
      const { bytesRead } = await fh.read(chunk, 0, FIRST_SLICE, buf.length);
      if (bytesRead === 0) break;
      buf = Buffer.concat([buf, chunk.subarray(0, bytesRead)]);
      nl = buf.indexOf(0x0a);
    }
    const scan = nl === -1 ? undefined : scanLines(buf.subarray(0, nl + 1));
    const header = scan && scan.starts.length === 1 ? decodeEvent(recordText(buf, scan, 0)) : undefined;
    if (!header || header.type !== 'header' || header.raw.k !== 'snapshot') {
      throw new CeleriacError(
        'CORRUPT_JOURNAL',
        `snapshot ${this.path} at byte 0 has no valid header line: it is not a celeriac snapshot, or it is damaged`,
      );
    }
    const version = header.raw.v;
    if (typeof version !== 'number' || version > FORMAT_VERSION) {
      throw new CeleriacError(
        'UNSUPPORTED_FORMAT',
        `snapshot ${this.path} has format version ${String(version)}, newer than this celeriac understands (${FORMAT_VERSION}): upgrade celeriac`,
      );
    }
    const runnable = typeof header.raw.w === 'number' ? header.raw.w : 0;
    let marks: Map<string, string> | undefined;
    try {
      marks = decodeMarks(header.raw.m);
    } catch (err) {
      throw new CeleriacError(
        'CORRUPT_JOURNAL',
        `snapshot ${this.path} at byte 0: its header's marks do not decode (${(err as Error).message}); run \`celeriac doctor --repair\` to keep what is intact`,
      );
    }
    if (this.opts.leaveFinishedArgs) this.argsFile = new ArgsFile(this.path, fh);
    const body = new SnapshotBody(this.path, fh, runnable, buf.subarray(nl + 1), nl + 1, this.argsFile);
    return { version, journalFrom: Number(header.raw.j), createdAt: Number(header.raw.t), jobs: [], body, ...(marks ? { marks } : {}) };
  }

  /** Fixes the content synchronously, before its first await: the caller's records may change right after the call. */
  async write(data: Snapshot): Promise<void> {
    const { ordered, runnable } = dispatchOrder(data.jobs, data.rows);
    const marks = data.marks && data.marks.size > 0 ? `,"m":${JSON.stringify(Object.fromEntries(data.marks))}` : '';
    const head = new SnapshotLines();
    head.record(`{"o":"h","k":"snapshot","v":${data.version},"j":${data.journalFrom},"t":${data.createdAt},"w":${runnable}${marks}}`);
    // Jobs that will run again change in place as they do: a record's line is made now,
    // into `made`, and its place in its group becomes -(k + 1), k its index there. A parked
    // row does not change (it is read as it was, whatever became of its job since) and
    // keeps its number; a finished record no longer changes (an add of its id replaces it,
    // a forget or an expiry drops it from the table). Rows and finished jobs are framed
    // later, a batch between awaits, so that a large snapshot does not hold the event loop.
    const made: MadeLines = { bufs: [], starts: [], ends: [] };
    const framer = new SnapshotLines();
    for (let g = 0; g < ordered.length - 1; g++) {
      const group = ordered[g]!;
      for (let i = 0; i < group.length; i++) {
        const job = group[i]!;
        if (typeof job === 'number') continue;
        // Only a finished job's args are ever left on disk.
        if (typeof job.args !== 'string') throw new Error(`job ${job.id} is ${job.state} but its args are on disk`);
        framer.job(job, false);
        made.bufs.push(framer.lineBuf);
        made.starts.push(framer.lineStart);
        group[i] = -made.ends.push(framer.lineEnd);
      }
    }
    const waiting = ordered.slice(0, -1) as number[][];
    const finished = ordered[ordered.length - 1]! as JobRecord[];
    const body: Body = {
      head,
      waiting,
      made,
      rowAt: data.rows?.frozenRows(),
      finished,
      trailer: `{"o":"e","n":${runnable + finished.length}}`,
      // Finished jobs' args are left in the new file once it is in place: where is noted.
      leave: this.opts.leaveFinishedArgs === true,
    };
    const tmp = `${this.path}.tmp`;
    const placed = await pRetry(() => this.replace(tmp, body), {
      retries: 3,
      minTimeout: 20,
      // replace() wraps what failed in a CeleriacError: the errno is its cause.
      shouldRetry: ({ error }) => isTransientIoError((error as { cause?: unknown }).cause ?? error),
    });
    if (placed) this.moveArgsTo(placed.file, placed.noted, placed.at);
    else if (this.argsFile) {
      // No finished job left: nothing points into the old snapshot, which was just replaced.
      void this.argsFile.close();
      this.argsFile = undefined;
    }
  }

  /** Finished jobs' args are read from the new snapshot from now on; the old one is closed. */
  private moveArgsTo(file: ArgsFile, noted: Noted, at: Places): void {
    for (let f = 0; f < noted.jobs.length; f++) {
      noted.jobs[f]!.args = new StoredArgs(file, at.lines[f]!, at.args[f]!, noted.lengths[f]!);
    }
    const old = this.argsFile;
    this.argsFile = file;
    void old?.close();
  }

  /**
   * Write the lines to `tmp` and rename it over the snapshot. With finished jobs to
   * leave on disk: the new file, open for reading, and where each one's args are in it.
   */
  private async replace(tmp: string, body: Body): Promise<{ file: ArgsFile; at: Places; noted: Noted } | undefined> {
    let fh: FileHandle | undefined;
    try {
      const placed: Places = { lines: [], args: [] };
      const noted: Noted = { jobs: [], lengths: [] };
      // Opened for reading too: the args are read back from the very file written, not
      // from whatever has its name by then.
      fh = await createReplacing(tmp, constants.O_RDWR);
      let at = await put(fh, body.head, 0, placed, noted);
      const { waiting, rowAt, made } = body;
      // One set of chunks for every batch, reused once the batch before is written.
      const lines = new SnapshotLines();
      for (const group of waiting)
        for (let w = 0; w < group.length; ) {
          lines.reset();
          const end = Math.min(w + WAITING_BATCH, group.length);
          for (; w < end; w++) {
            const job = group[w]!;
            if (job >= 0) {
              rowAt!.read(job);
              lines.jobBytes(rowAt!.job, rowAt!.bytes, rowAt!.start, rowAt!.end);
            } else lines.line(made.bufs[-job - 1]!, made.starts[-job - 1]!, made.ends[-job - 1]!);
          }
          at = await put(fh, lines, at, placed, noted);
        }
      const { finished } = body;
      let i = 0;
      do {
        lines.reset();
        const end = Math.min(i + FINISHED_BATCH, finished.length);
        for (; i < end; i++) lines.job(finished[i]!, body.leave);
        if (i === finished.length) lines.record(body.trailer);
        at = await put(fh, lines, at, placed, noted);
      } while (i < finished.length);
      await fh.sync();
      if (noted.jobs.length === 0) {
        const done = fh;
        fh = undefined;
        await done.close();
      }
      await rename(tmp, this.path);
      await fsyncDir(dirname(this.path));
      return fh ? { file: new ArgsFile(this.path, fh), at: placed, noted } : undefined;
    } catch (err) {
      await fh?.close().catch(() => undefined);
      await unlink(tmp).catch(() => undefined);
      throw writeError(err, `snapshot ${basename(this.path)}`);
    }
  }
}

/** Finished jobs framed per batch, between awaits. */
const FINISHED_BATCH = 2_000;
/** Waiting jobs framed per batch, between awaits (a record's line made at the cut, or a parked row). */
const WAITING_BATCH = 4_000;

/** A snapshot to write: its header framed, the lines of its runnable jobs still to frame, its finished jobs still to frame, and its trailer. */
interface Body {
  head: SnapshotLines;
  /** Runnable jobs in file order, by priority group: a parked row's number, or -(k + 1) for line k of `made`. */
  waiting: number[][];
  /** The lines of the runnable records, made at the cut. */
  made: MadeLines;
  /** Reads a row of `waiting` as it was at the cut. */
  rowAt: FrozenRows | undefined;
  finished: JobRecord[];
  trailer: string;
  leave: boolean;
}

/** Lines framed at a snapshot's cut, to be copied into their place later: line k is `bufs[k]` from `starts[k]` to `ends[k]` (the views keep their chunks). */
interface MadeLines {
  bufs: Buffer[];
  starts: number[];
  ends: number[];
}

/** The jobs whose args were noted (left on disk), in file order, and their args' bytes. */
interface Noted {
  jobs: JobRecord[];
  lengths: number[];
}

/** Write `lines` at file offset `at`, noting where their finished jobs' args are; the offset after them. */
async function put(fh: FileHandle, lines: SnapshotLines, at: number, placed: Places, noted: Noted): Promise<number> {
  for (let k = 0; k < lines.chunkCount; k++) {
    const buf = await lines.chunkBytes(k, at, placed);
    await writeAt(fh, buf, at);
    at += buf.length;
  }
  for (let f = 0; f < lines.finished.length; f++) {
    noted.jobs.push(lines.finished[f]!);
    noted.lengths.push(lines.argsLengths[f]!);
  }
  return at;
}
