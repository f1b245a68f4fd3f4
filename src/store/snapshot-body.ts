// A snapshot's job lines, read back a slice at a time as the loader asks for them
// (snapshot-file.ts reads the header and writes the file): each slice's lines are
// checked and decoded, a finished job's args left in the file when the owner reads.
import type { FileHandle } from 'node:fs/promises';
import { CeleriacError } from '../errors.js';
import { FINISHED_STATES, type JobRecord } from '../jobs.js';
import { decodeLine } from './codec.js';
import { FastDecoder } from './fast-decode.js';
import { recordText, scanLines } from './scan.js';
import { type ArgsFile, StoredArgs } from './stored-args.js';

/**
 * Bytes read from the file per slice: the first slices are small, so that the first jobs
 * are handed out (and start running) within a few milliseconds; they grow to 1 MiB
 * (about 4,500 jobs, ~15 ms of decoding on the host thread), small enough that the jobs
 * handed out keep running while the rest is read, large enough that reads stay cheap.
 */
export const FIRST_SLICE = 64 << 10;
const MAX_SLICE = 1 << 20;

/**
 * The job lines of a snapshot, read on demand. The file is written atomically, so damage
 * found here is disk damage; it is reported when the slice holding it is read.
 */
export class SnapshotBody {
  /** How many lines at the start are jobs that were not finished, best first (0 in a snapshot of an older celeriac, which did not order them). */
  readonly runnable: number;
  private carry: Buffer;
  /** File offset of carry[0]. */
  private at: number;
  private lines = 0;
  private eof = false;
  private done = false;
  private trailerSeen = false;
  private readonly fast = new FastDecoder();
  private sliceBytes = FIRST_SLICE * 2;
  /**
   * The buffer every slice is read into, the line cut short at the end of the last one
   * moved to its start first (copy() handles the overlap). Decoded jobs keep no view of
   * it, so it is reused: memory written for the first time costs a page fault per 4 KiB,
   * and a fresh buffer per slice, freed later, leaves holes in the C heap.
   */
  private slice: Buffer = Buffer.alloc(0);

  constructor(
    private readonly path: string,
    private readonly fh: FileHandle,
    runnable: number,
    rest: Buffer,
    restAt: number,
    /** Set for the owner: finished jobs' args are left in this file (StoredArgs), which then owns `fh`. */
    private readonly argsFile?: ArgsFile,
  ) {
    this.runnable = runnable;
    this.carry = rest;
    this.at = restAt;
  }

  /** The next slice of jobs, in file order; undefined after the last (the trailer checked). */
  async next(): Promise<JobRecord[] | undefined> {
    if (this.done) return undefined;
    for (;;) {
      const jobs = this.decodeComplete();
      if (this.trailerSeen) {
        // The trailer is the file's last line: bytes after it mean the file is not what was written.
        const probe = Buffer.alloc(1);
        const { bytesRead } = await this.fh.read(probe, 0, 1, this.at + this.carry.length);
        if (bytesRead > 0 || this.carry.length > 0)
          throw new CeleriacError(
            'CORRUPT_JOURNAL',
            `snapshot ${this.path} has data after its trailer line (byte ${this.at}): it is damaged; move it aside to salvage the journal, or restore it from a backup`,
          );
        this.finish();
        return jobs.length > 0 ? jobs : undefined;
      }
      if (jobs.length > 0) return jobs;
      if (this.eof)
        throw new CeleriacError(
          'CORRUPT_JOURNAL',
          `snapshot ${this.path} is incomplete: its trailer is missing (found ${this.lines} jobs)`,
        );
      await this.readMore();
    }
  }

  async close(): Promise<void> {
    this.finish();
    if (!this.argsFile) await this.fh.close().catch(() => undefined);
  }

  /** No more slices: the buffer is let go. */
  private finish(): void {
    this.done = true;
    this.carry = Buffer.alloc(0);
    this.slice = Buffer.alloc(0);
  }

  private async readMore(): Promise<void> {
    // A line longer than a slice (large args) is read in ever larger reads, not rescanned per MiB.
    const size = Math.max(this.sliceBytes, this.carry.length);
    this.sliceBytes = Math.min(this.sliceBytes * 2, MAX_SLICE);
    // The line cut short at the end of the last slice goes first, read on from there.
    const kept = this.carry.length;
    if (this.slice.length < kept + size) {
      const bigger = Buffer.allocUnsafeSlow(kept + size);
      this.carry.copy(bigger, 0);
      this.slice = bigger;
    } else this.carry.copy(this.slice, 0);
    const chunk = this.slice;
    const { bytesRead } = await this.fh.read(chunk, kept, size, this.at + kept);
    if (bytesRead === 0) this.eof = true;
    else this.carry = chunk.subarray(0, kept + bytesRead);
  }

  /** Decode every complete line held, up to the trailer. */
  private decodeComplete(): JobRecord[] {
    const buf = this.carry;
    const scan = scanLines(buf);
    const where = (offset: number) => `snapshot ${this.path} at byte ${this.at + offset}`;
    if (scan.corruptAt !== undefined || (scan.tornTail && this.eof)) {
      throw new CeleriacError(
        'CORRUPT_JOURNAL',
        `${where(scan.corruptAt ?? scan.tornTail!.offset)} is damaged (checksum mismatch or cut short); it is written atomically, so this is disk damage. ` +
          `Move it aside to salvage the journal, or restore it from a backup.`,
      );
    }
    const jobs: JobRecord[] = [];
    let used = scan.validBytes;
    for (let r = 0; r < scan.starts.length; r++) {
      const start = scan.starts[r]!;
      if (isTrailer(buf, start)) {
        const end = JSON.parse(recordText(buf, scan, r)) as { n?: number };
        if (end.n !== this.lines) {
          throw new CeleriacError(
            'CORRUPT_JOURNAL',
            `snapshot ${this.path} is incomplete: its trailer counts ${String(end.n)} jobs, found ${this.lines}`,
          );
        }
        this.trailerSeen = true;
        used = scan.ends[r]! + 1;
        break;
      }
      let rec;
      try {
        rec = decodeLine(buf, start, scan.ends[r]!, this.fast);
      } catch (err) {
        throw new CeleriacError(
          'CORRUPT_JOURNAL',
          `${where(start)}: a record with a valid checksum does not decode (${(err as Error).message}); run \`celeriac doctor --repair\` to keep what is intact`,
        );
      }
      if (rec.type !== 'job') throw new CeleriacError('CORRUPT_JOURNAL', `${where(start)} holds a ${rec.type} record, not a job`);
      if (this.argsFile && FINISHED_STATES.has(rec.job.state)) leaveArgs(rec.job, buf, start, scan.ends[r]!, this.at, this.argsFile);
      jobs.push(rec.job);
      this.lines++;
    }
    this.at += used;
    this.carry = buf.subarray(used);
    return jobs;
  }
}

/**
 * A finished job's args stay in the file: the record keeps where they are. They are the
 * line's tail, `,"a":[...]}`, byte for byte as decoded by both decoders' usual paths; a
 * line whose args were re-encoded (the general decoder's full parse) keeps the text.
 */
function leaveArgs(job: JobRecord, buf: Buffer, lineStart: number, end: number, fileAt: number, file: ArgsFile): void {
  const text = job.args as string;
  const length = Buffer.byteLength(text);
  const start = end - 1 - length;
  if (buf[end - 1] !== 0x7d || buf[start - 1] !== 0x3a || buf[start - 2] !== 0x22 || buf[start - 3] !== 0x61 || buf[start - 4] !== 0x22)
    return;
  if (buf[start] !== 0x5b || buf[end - 2] !== 0x5d) return;
  job.args = new StoredArgs(file, fileAt + lineStart, fileAt + start, length);
}

/** `{"o":"e"`: the trailer (job lines are `{"o":"j"`). Byte tests: this runs per line. */
function isTrailer(buf: Buffer, start: number): boolean {
  const p = start + 9;
  return (
    buf[p + 6] === 0x65 &&
    buf[p + 7] === 0x22 &&
    buf[p] === 0x7b &&
    buf[p + 1] === 0x22 &&
    buf[p + 2] === 0x6f &&
    buf[p + 3] === 0x22 &&
    buf[p + 4] === 0x3a &&
    buf[p + 5] === 0x22
  );
}
