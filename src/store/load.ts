// Reading a data dir back: the snapshot, then every journal segment after it, replayed
// through the same applyEvent() the live store uses. Shared by the owner's open and by
// read-only readers (the CLI's list/show while a worker runs).
import { readdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Low } from 'lowdb';
import { CeleriacError } from '../errors.js';
import { applyEvent, type JobRecord } from '../jobs.js';
import { decodeEvent, decodeLine, FORMAT_VERSION } from './codec.js';
import { FastDecoder } from './fast-decode.js';
import { recordText, scanLines } from './scan.js';
import { SnapshotFile, type Snapshot } from './snapshot-file.js';
import type { RecoveryReport } from './types.js';

export const SNAPSHOT_FILE = 'snapshot.db';
export const SEGMENT = /^journal-(\d{8})\.log$/;
export const segmentName = (n: number) => `journal-${String(n).padStart(8, '0')}.log`;

export interface LoadedState {
  jobs: Map<string, JobRecord>;
  db: Low<Snapshot>;
  /** Segments to replay (≥ the snapshot's journalFrom), oldest first. */
  segments: number[];
  /** Segments the snapshot already covers (a compaction stopped before deleting them). */
  staleSegments: number[];
  /** Valid bytes of the newest segment; 0 when it holds no record at all. */
  lastValid: number;
  report: RecoveryReport;
}

/** A file vanished or changed under a read-only reader (the owner compacted): read again. */
export class ConcurrentChange extends Error {
  readonly code = 'EAGAIN';
}

export async function loadState(dir: string, { readOnly }: { readOnly: boolean }): Promise<LoadedState> {
  const empty: Snapshot = { version: FORMAT_VERSION, journalFrom: 1, createdAt: 0, jobs: [] };
  const db = new Low<Snapshot>(new SnapshotFile(join(dir, SNAPSHOT_FILE)), empty);
  await db.read();
  const hasSnapshot = db.data !== empty;
  // A snapshot write cut short by a crash never replaced the real one: its temp file is garbage.
  if (!readOnly) await unlink(join(dir, `${SNAPSHOT_FILE}.tmp`)).catch(() => undefined);
  const jobs = new Map<string, JobRecord>();
  for (const job of db.data.jobs) jobs.set(job.id, job);
  const report: RecoveryReport = { snapshotJobs: jobs.size, replayedRecords: 0, interrupted: 0, droppedResults: 0, loadMs: 0 };

  const names = (await readdir(dir)).filter((f) => SEGMENT.test(f)).sort();
  const segments: number[] = [];
  const staleSegments: number[] = [];
  for (const name of names) {
    const n = Number(SEGMENT.exec(name)![1]);
    (n < db.data.journalFrom ? staleSegments : segments).push(n);
  }

  checkContinuity(dir, segments, hasSnapshot ? db.data.journalFrom : 1, hasSnapshot);

  let lastValid = 0;
  const fast = new FastDecoder();
  for (let i = 0; i < segments.length; i++) {
    const path = join(dir, segmentName(segments[i]!));
    let buf: Buffer;
    try {
      buf = await readFile(path);
    } catch (err) {
      if (readOnly && (err as NodeJS.ErrnoException).code === 'ENOENT') throw new ConcurrentChange(`${path} vanished while reading`);
      throw err;
    }
    const scan = scanLines(buf);
    const isLast = i === segments.length - 1;
    if (scan.corruptAt !== undefined || (scan.tornTail && !isLast)) {
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
    for (let r = 1; r < scan.starts.length; r++) {
      let ev;
      try {
        ev = decodeLine(buf, scan.starts[r]!, scan.ends[r]!, fast);
      } catch (err) {
        throw new CeleriacError('CORRUPT_JOURNAL', `journal ${path} at byte ${scan.starts[r]}: a record with a valid checksum does not decode (${(err as Error).message})`);
      }
      if (ev.type === 'header' || ev.type === 'job') {
        throw new CeleriacError('CORRUPT_JOURNAL', `journal ${path} at byte ${scan.starts[r]}: unexpected ${ev.type} record inside a journal`);
      }
      applyEvent(jobs, ev);
      report.replayedRecords++;
    }
    if (isLast) {
      lastValid = scan.validBytes;
      // For a reader, a partial last record is the owner's write in progress, not damage.
      if (scan.tornTail && !readOnly) report.truncated = { file: path, offset: scan.tornTail.offset, bytes: scan.tornTail.bytes };
    }
  }
  return { jobs, db, segments, staleSegments, lastValid, report };
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
      throw new CeleriacError('CORRUPT_JOURNAL', `journal segment ${segmentName(segments[i - 1]! + 1)} is missing from ${dir} (found ${segmentName(segments[i - 1]!)} then ${segmentName(segments[i]!)}): jobs recorded there would be lost. Restore it, or run \`celeriac doctor --repair\`.`);
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
    throw new CeleriacError('UNSUPPORTED_FORMAT', `journal ${path} has format version ${String(v)}, newer than this celeriac understands (${FORMAT_VERSION}): upgrade celeriac`);
  }
}
