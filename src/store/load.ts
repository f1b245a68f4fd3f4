// Reading a data dir back: the snapshot's header, every journal segment after it, then
// the snapshot's jobs, slice by slice, each with the journal's events for it applied (the
// same applyEvent() the live store uses). Shared by the owner's open and by read-only
// readers (the CLI's list/show while a worker runs).
//
// The journal is read first so that the owner can start running jobs before the whole
// snapshot is read: a snapshot lists the jobs that will run again first, best first
// (snapshot-file.ts), so once the journal's events for a job are applied, the first such
// jobs read are the next to run — unless the journal added a better one: any job it added
// with a higher priority, finished or not, holds them back (the journal is indexed, not
// yet decoded, at that point: journal-index.ts). Every event concerns one job, so applying
// each job's events to its snapshot record gives what replaying the journal over the
// whole snapshot gives.
import { readdir, unlink } from 'node:fs/promises';
import { readFileNoFollow } from './io.js';
import { join } from 'node:path';
import { Low } from 'lowdb';
import { CeleriacError } from '../errors.js';
import { applyEvent, WAITING_STATES, type JobRecord } from '../jobs.js';
import { decodeEvent, FORMAT_VERSION } from './codec.js';
import { JournalIndex } from './journal-index.js';
import { JobTable } from './job-table.js';
import { FastDecoder } from './fast-decode.js';
import { type PrefixScan, recordText, scanLines } from './scan.js';
import { readSegment } from './read-segment.js';
import { SnapshotFile, type Snapshot } from './snapshot-file.js';
import { emptyRecoveryReport, type RecoveryReport } from './types.js';

export const SNAPSHOT_FILE = 'snapshot.db';
export const SEGMENT = /^journal-(\d{8})\.log$/;
export const segmentName = (n: number) => `journal-${String(n).padStart(8, '0')}.log`;

export interface LoadedState {
  jobs: JobTable;
  db: Low<Snapshot>;
  /** The snapshot's adapter: for the owner, where finished jobs' args are read from (close it with the store). */
  snapshot: SnapshotFile;
  /** Segments to replay (≥ the snapshot's journalFrom), oldest first. */
  segments: number[];
  /** Segments the snapshot already covers (a compaction stopped before deleting them). */
  staleSegments: number[];
  /** Segments with a header at most, after one a kill left torn (a compaction created them, never switched to them): the owner deletes them. */
  abandonedSegments: number[];
  /** Valid bytes of the newest segment; 0 when it holds no record at all. */
  lastValid: number;
  /** Bytes of the newest segment's file up to the end of its preallocated zeros: lastValid when it has none or its tail is torn; 0 with no record. */
  lastEnd: number;
  /** Valid bytes in all segments to replay: the journal appended since the snapshot. */
  journalBytes: number;
  report: RecoveryReport;
  /** Small durable values by key: the snapshot's, with the journal's writes over them. */
  marks: Map<string, string>;
}

/** What reading the snapshot's jobs found, besides the jobs themselves. */
export interface RestOfLoad {
  /** Jobs that were running when the previous process stopped, as loaded, and not handed out early. */
  interrupted: string[];
  /** Jobs not handed out early that may need scheduling, in the order they should run (filter by state). */
  late: JobRecord[];
}

/** A file vanished or changed under a read-only reader (the owner compacted): read again. */
export class ConcurrentChange extends Error {
  readonly code = 'EAGAIN';
}

/**
 * A data dir read up to its snapshot's jobs: the journal is read and checked, `jobs` is
 * empty until `rest()` reads the snapshot's jobs into it.
 */
export class PartialLoad implements LoadedState {
  readonly jobs = new JobTable();

  constructor(
    readonly db: Low<Snapshot>,
    readonly snapshot: SnapshotFile,
    readonly segments: number[],
    readonly staleSegments: number[],
    readonly abandonedSegments: number[],
    readonly lastValid: number,
    readonly lastEnd: number,
    readonly journalBytes: number,
    readonly report: RecoveryReport,
    private readonly journal: JournalIndex,
  ) {
    this.marks = new Map([...(db.data.marks ?? []), ...journal.marks]);
  }

  readonly marks: Map<string, string>;

  /**
   * Read the snapshot's jobs into `jobs`, the journal's events applied, then the jobs only
   * the journal knows. `early` receives, slice by slice while the rest is read, the jobs
   * that run before every job not yet read (see the top of this file): waiting ones, and
   * started ones (running when the previous process stopped) for the caller to give back;
   * the read waits for it. `stop` ends the read (the store closed). Resolves once every job
   * is in `jobs`.
   */
  async rest(early?: (jobs: JobRecord[]) => void | Promise<void>, stop?: () => boolean): Promise<RestOfLoad> {
    const body = this.db.data.body;
    const interrupted: string[] = [];
    const late: JobRecord[] = [];
    const found = this.report.found;
    const count = (job: JobRecord) => {
      if (job.state === 'retrying') found.retrying++;
      else if (job.state === 'pending' || job.state === 'started') found.pending++;
      else found.finished++;
    };
    const later = (job: JobRecord) => {
      late.push(job);
      if (job.state === 'started') interrupted.push(job.id);
    };
    // While jobs are handed out early, each snapshot record gets its journal events at
    // once (a lookup per record). After that — or without `early` — records go into the
    // table as read, and the journal events not taken are replayed over it in order at
    // the end (one lookup per event); the records added after the handing out are then
    // counted and scheduled. (Jobs handed out may have been parked or run meanwhile: the
    // table's order no longer tells which were.)
    const after: JobRecord[] = [];
    if (body) {
      try {
        let handing = early !== undefined && body.runnable > 0;
        let line = 0;
        for (let slice = await body.next(); slice; slice = await body.next()) {
          if (stop?.()) throw new CeleriacError('APP_CLOSED', 'the store was closed while it was loading');
          const now: JobRecord[] = [];
          for (const snap of slice) {
            const ordered = line++ < body.runnable;
            if (!handing) {
              this.jobs.set(snap.id, snap);
              after.push(snap);
              continue;
            }
            const job = this.applyJournal(snap);
            if (!job) continue;
            this.jobs.set(job.id, job);
            count(job);
            if (!willRun(job)) continue;
            if (ordered && job.priority >= this.journal.bestAdded) now.push(job);
            else {
              handing = false;
              later(job);
            }
          }
          if (now.length > 0) await early!(now);
        }
        this.report.snapshotJobs = line;
      } finally {
        await body.close();
      }
    }
    for (const ev of this.journal.remaining()) {
      const added = applyEvent(this.jobs, ev);
      if (ev.type === 'add' && added) after.push(added);
    }
    for (const job of after) {
      if (this.jobs.peek(job.id) !== job) continue; // forgotten, or replaced by a later add of its id (pushed too)
      count(job);
      if (willRun(job)) later(job);
    }
    return { interrupted, late };
  }

  /** A snapshot record with the journal's events for its job applied (undefined: forgotten). */
  private applyJournal(snap: JobRecord): JobRecord | undefined {
    const events = this.journal.take(snap.id);
    if (!events) return snap;
    const one = new Map([[snap.id, snap]]);
    for (const ev of events) applyEvent(one, ev);
    return one.get(snap.id);
  }
}

/** Waiting, or started: running when the previous process stopped, it runs again. */
const willRun = (job: JobRecord) => job.state === 'started' || WAITING_STATES.has(job.state);

/** Read the snapshot's header and the whole journal; the snapshot's jobs follow in `rest()`. */
export async function openState(dir: string, { readOnly }: { readOnly: boolean }): Promise<PartialLoad> {
  const empty: Snapshot = { version: FORMAT_VERSION, journalFrom: 1, createdAt: 0, jobs: [] };
  // The owner leaves finished jobs' args on disk; a reader (the CLI) keeps them as text.
  const snapshot = new SnapshotFile(join(dir, SNAPSHOT_FILE), { leaveFinishedArgs: !readOnly });
  const db = new Low<Snapshot>(snapshot, empty);
  await db.read();
  try {
    return await readJournal(dir, db, snapshot, readOnly);
  } catch (err) {
    await db.data.body?.close();
    await snapshot.close();
    throw err;
  }
}

/** The whole data dir, read. */
export async function loadState(dir: string, { readOnly }: { readOnly: boolean }): Promise<LoadedState> {
  const state = await openState(dir, { readOnly });
  await state.rest();
  return state;
}

async function readJournal(dir: string, db: Low<Snapshot>, snapshot: SnapshotFile, readOnly: boolean): Promise<PartialLoad> {
  const hasSnapshot = db.data.body !== undefined;
  // A snapshot write cut short by a crash never replaced the real one: its temp file is garbage.
  if (!readOnly) await unlink(join(dir, `${SNAPSHOT_FILE}.tmp`)).catch(() => undefined);
  const report = emptyRecoveryReport();

  const names = (await readdir(dir)).filter((f) => SEGMENT.test(f)).sort();
  const segments: number[] = [];
  const staleSegments: number[] = [];
  for (const name of names) {
    const n = Number(SEGMENT.exec(name)![1]);
    (n < db.data.journalFrom ? staleSegments : segments).push(n);
  }

  checkContinuity(dir, segments, hasSnapshot ? db.data.journalFrom : 1, hasSnapshot);

  let lastValid = 0;
  let lastEnd = 0;
  const abandoned: number[] = [];
  let journalBytes = 0;
  const journal = new JournalIndex(new FastDecoder());
  for (let i = 0; i < segments.length; i++) {
    const path = join(dir, segmentName(segments[i]!));
    let buf: Buffer;
    let prefix: PrefixScan;
    try {
      ({ buf, prefix } = await readSegment(path));
    } catch (err) {
      if (readOnly && (err as NodeJS.ErrnoException).code === 'ENOENT') throw new ConcurrentChange(`${path} vanished while reading`);
      throw err;
    }
    const scan = scanLines(buf, { zeroTail: true }, prefix);
    if (scan.tornTail && i < segments.length - 1 && scan.corruptAt === undefined) {
      // A compaction creates the next segment before it switches to it, and flushes go on
      // into this one meanwhile: a kill during such a flush leaves this one torn and the
      // next ones holding a header at most. The torn write is then the last one made; the
      // owner drops the unused segments and cuts the tail as for the newest segment. A
      // reader may see the owner's write in progress here: it ignores the tail.
      const later = segments.slice(i + 1);
      if (!(await holdNoEvents(dir, later, readOnly))) {
        // A reader may have read this segment mid-write, before the owner switched and
        // wrote on: if the tail is whole now, read again.
        if (readOnly && !scanLines(await readFileNoFollow(path), { zeroTail: true }).tornTail)
          throw new ConcurrentChange(`${path} was written while reading`);
        throw new CeleriacError(
          'CORRUPT_JOURNAL',
          `journal ${path} is cut short at byte ${scan.tornTail.offset}, but later segments (${later.map(segmentName).join(', ')}) hold records written after it. ` +
            `celeriac will not guess which jobs were lost. Move the data dir aside and salvage the intact records (celeriac doctor --repair), or restore a backup.`,
        );
      }
      if (!readOnly) abandoned.push(...segments.splice(i + 1));
    }
    const isLast = i === segments.length - 1;
    if (scan.corruptAt !== undefined || (scan.tornTail && !isLast && !readOnly)) {
      const at = scan.corruptAt ?? scan.tornTail!.offset;
      throw new CeleriacError(
        'CORRUPT_JOURNAL',
        `journal ${path} is damaged at byte ${at}: a record there fails its checksum and valid records follow it. ` +
          `celeriac will not guess which jobs were lost. Move the data dir aside and salvage the intact records, or restore a backup.`,
      );
    }
    // The newest segment may hold no record at all: the process was killed between
    // creating it (a compaction's next segment, or a new dir's first one) and writing
    // its header. It holds nothing; the owner removes it. Checking its header would
    // refuse to open the dir forever.
    if (isLast && scan.starts.length === 0) continue;
    checkSegmentHeader(path, scan.starts.length > 0 ? recordText(buf, scan, 0) : undefined);
    const file = journal.addFile(path, buf);
    journal.reserve(scan.starts.length - 1);
    for (let r = 1; r < scan.starts.length; r++) journal.add(file, scan.starts[r]!, scan.ends[r]!);
    report.replayedRecords += scan.starts.length - 1;
    journalBytes += scan.validBytes;
    if (isLast) {
      lastValid = scan.validBytes;
      lastEnd = scan.validBytes + (scan.unused ?? 0);
      // For a reader, a partial last record is the owner's write in progress, not damage.
      if (scan.tornTail && !readOnly) report.truncated = { file: path, offset: scan.tornTail.offset, bytes: scan.tornTail.bytes };
    }
  }
  return new PartialLoad(db, snapshot, segments, staleSegments, abandoned, lastValid, lastEnd, journalBytes, report, journal);
}

/** True when each of these segments holds a header at most (or nothing), intact. */
async function holdNoEvents(dir: string, segments: number[], readOnly: boolean): Promise<boolean> {
  for (const n of segments) {
    const path = join(dir, segmentName(n));
    const buf = await readFileNoFollow(path).catch((err: NodeJS.ErrnoException) => {
      throw readOnly && err.code === 'ENOENT' ? new ConcurrentChange(`${path} vanished while reading`) : err;
    });
    const scan = scanLines(buf, { zeroTail: true });
    if (scan.starts.length > 1 || scan.tornTail || scan.corruptAt !== undefined) return false;
  }
  return true;
}

/**
 * Segments are numbered without gaps from the snapshot's journalFrom (1 without a
 * snapshot). A gap means files were lost: replaying around it would drop jobs silently.
 */
function checkContinuity(dir: string, segments: number[], from: number, hasSnapshot: boolean): void {
  const first = segments[0];
  if (first !== undefined && first !== from) {
    throw new CeleriacError(
      'CORRUPT_JOURNAL',
      hasSnapshot
        ? `journal segment ${segmentName(from)} is missing from ${dir} (the snapshot continues from it, the first segment present is ${segmentName(first)}): jobs recorded there would be lost. Restore it from a backup, or run \`celeriac doctor --repair\` to keep what is intact.`
        : `${join(dir, SNAPSHOT_FILE)} is missing, but the journal starts at ${segmentName(first)}: the jobs recorded before it were in the snapshot. Restore the snapshot from a backup, or run \`celeriac doctor --repair\` to keep what is intact.`,
    );
  }
  for (let i = 1; i < segments.length; i++) {
    if (segments[i] !== segments[i - 1]! + 1) {
      throw new CeleriacError(
        'CORRUPT_JOURNAL',
        `journal segment ${segmentName(segments[i - 1]! + 1)} is missing from ${dir} (found ${segmentName(segments[i - 1]!)} then ${segmentName(segments[i]!)}): jobs recorded there would be lost. Restore it, or run \`celeriac doctor --repair\`.`,
      );
    }
  }
}

function checkSegmentHeader(path: string, json: string | undefined): void {
  const header = json === undefined ? undefined : decodeEvent(json);
  if (!header || header.type !== 'header' || header.raw.k !== 'journal') {
    throw new CeleriacError('CORRUPT_JOURNAL', `journal ${path} does not start with a celeriac journal header`);
  }
  const v = header.raw.v;
  if (typeof v !== 'number' || v > FORMAT_VERSION) {
    throw new CeleriacError(
      'UNSUPPORTED_FORMAT',
      `journal ${path} has format version ${String(v)}, newer than this celeriac understands (${FORMAT_VERSION}): upgrade celeriac`,
    );
  }
}
