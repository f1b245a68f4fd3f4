// A snapshot's lines framed straight into buffers, byte for byte what frame() gives each
// (`<crc32 hex> <json>\n`): each job's head and args are encoded in place and checksummed
// there, with no line string and no second copy. A finished job whose args are on disk
// (StoredArgs) is framed up to its args; chunkBytes() copies them in from the old file.
import { crc32 } from 'node:zlib';
import type { JobRecord } from '../jobs.js';
import { encodeJobHead } from './codec.js';
import { MappedRegions } from './mapped-regions.js';
import { readStoredArgBytes, type StoredArgs } from './stored-args.js';

/** Bytes per chunk: the unit written (and, for args on disk, read) between awaits. */
const CHUNK_BYTES = 1 << 20;
const HEX = Buffer.from('0123456789abcdef');
const CLOSE_BRACE = 0x7d;
const NEWLINE = 0x0a;

/** Where the finished jobs' lines and args are in the file written, in the order they were added. */
export interface Places {
  lines: number[];
  args: number[];
}

export class SnapshotLines {
  /** Where new chunks are taken from (see mapped-regions.ts). */
  private readonly regions = new MappedRegions();
  /** Where chunkBytes() puts a chunk together with the args it reads from disk. */
  private out: Buffer = Buffer.alloc(0);
  /** Chunks of lines already written out, whose memory the next lines reuse (see reset). */
  private readonly spare: Buffer[] = [];
  private readonly chunks: Buffer[] = [];
  /** Bytes used in each chunk. */
  private readonly used: number[] = [];
  /** The first noted line of each chunk (an index into the `n*` lists). */
  private readonly notedFrom: number[] = [];
  private buf: Buffer = Buffer.alloc(0);

  private pos = 0;
  /** Job lines framed so far. */
  count = 0;
  /** Where the last line sealed is, checksum to newline: `lineBuf` from `lineStart` to `lineEnd`. */
  lineBuf: Buffer = Buffer.alloc(0);
  lineStart = 0;
  lineEnd = 0;
  // Noted lines, in parallel lists: finished jobs (their args are left on disk: where they
  // end up) and jobs whose args are on disk (their lines are completed by chunkBytes).
  private readonly nAt: number[] = [];
  private readonly nArgsAt: number[] = [];
  private readonly nStored: (StoredArgs | undefined)[] = [];
  private readonly nIds: string[] = [];
  /** The checksum of a line whose args are on disk, up to its args. */
  private readonly nHeadSum: number[] = [];
  /** The finished jobs noted, and their args' bytes. */
  readonly finished: JobRecord[] = [];
  readonly argsLengths: number[] = [];

  /** A whole record's JSON text (the header, the trailer). */
  record(json: string): void {
    this.room(json.length * 3 + 10);
    const start = this.pos;
    const end = start + 9 + this.buf.write(json, start + 9);
    this.seal(start, end);
  }

  /** A job's line; `keep` notes where its args land (a finished job whose args are left on disk). */
  job(job: JobRecord, keep: boolean): void {
    const head = encodeJobHead(job);
    const args = job.args;
    const stored = typeof args === 'string' ? undefined : args;
    this.room((head.length + (stored ? 0 : (args as string).length)) * 3 + 11);
    const start = this.pos;
    const argsAt = start + 9 + this.buf.write(head, start + 9);
    this.count++;
    if (stored) {
      this.note(start, argsAt, stored, job.id, crc32(this.buf.subarray(start + 9, argsAt)));
      this.finished.push(job);
      this.argsLengths.push(stored.length);
      this.pos = argsAt;
      return;
    }
    const argsEnd = argsAt + this.buf.write(args as string, argsAt);
    this.buf[argsEnd] = CLOSE_BRACE;
    this.seal(start, argsEnd + 1);
    if (keep) {
      this.note(start, argsAt, undefined, job.id, 0);
      this.finished.push(job);
      this.argsLengths.push(argsEnd - argsAt);
    }
  }

  /** A job's line framed elsewhere (`bytes` from `start` to `end`: checksum, JSON and newline), copied in. */
  line(bytes: Buffer, start: number, end: number): void {
    this.room(end - start);
    this.pos += bytes.copy(this.buf, this.pos, start, end);
    this.count++;
  }

  /** A job's line, its args given as UTF-8 (`bytes` from `start` to `end`) and copied in as they are; `job.args` is not read. */
  jobBytes(job: JobRecord, bytes: Buffer, start: number, end: number): void {
    const head = encodeJobHead(job);
    this.room(head.length * 3 + (end - start) + 11);
    const lineAt = this.pos;
    const argsAt = lineAt + 9 + this.buf.write(head, lineAt + 9);
    const argsEnd = argsAt + bytes.copy(this.buf, argsAt, start, end);
    this.buf[argsEnd] = CLOSE_BRACE;
    this.count++;
    this.seal(lineAt, argsEnd + 1);
  }

  /**
   * Start again, every line so far written out (put): the chunks are reused for the next
   * lines. Memory written for the first time costs a page fault per 4 KiB, which is most of
   * what framing a large snapshot into fresh buffers costs.
   */
  reset(): void {
    for (let k = this.chunks.length - 1; k >= 0; k--) this.spare.push(this.chunks[k]!);
    this.chunks.length = 0;
    this.used.length = 0;
    this.notedFrom.length = 0;
    this.buf = Buffer.alloc(0);
    this.pos = 0;
    this.count = 0;
    this.nAt.length = 0;
    this.nArgsAt.length = 0;
    this.nStored.length = 0;
    this.nIds.length = 0;
    this.nHeadSum.length = 0;
    this.finished.length = 0;
    this.argsLengths.length = 0;
  }

  /** How many chunks there are (once every line is added). */
  get chunkCount(): number {
    this.close();
    return this.chunks.length;
  }

  /**
   * Chunk `k`'s bytes, whole lines, to be written at file offset `at`: the args on disk
   * copied in (read in runs, their lines' checksums checked). Where its finished jobs'
   * lines and args are is appended to `places`: ask for the chunks in order.
   */
  async chunkBytes(k: number, at: number, places: Places): Promise<Buffer> {
    const chunk = this.chunks[k]!;
    const used = this.used[k]!;
    const from = this.notedFrom[k]!;
    const to = k + 1 < this.notedFrom.length ? this.notedFrom[k + 1]! : this.nAt.length;
    const stored: StoredArgs[] = [];
    const ids: string[] = [];
    for (let i = from; i < to; i++) {
      const s = this.nStored[i];
      if (s) {
        stored.push(s);
        ids.push(this.nIds[i]!);
      }
    }
    if (stored.length === 0) {
      for (let i = from; i < to; i++) {
        places.lines.push(at + this.nAt[i]!);
        places.args.push(at + this.nArgsAt[i]!);
      }
      return chunk.subarray(0, used);
    }
    const texts = await readStoredArgBytes(stored, ids);
    let size = used;
    for (const t of texts) size += t.length + 2;
    // Reused from chunk to chunk: the caller writes each out before it asks for the next.
    if (this.out.length < size) this.out = Buffer.allocUnsafeSlow(Math.max(size, 2 * CHUNK_BYTES));
    const out = this.out;
    let s = 0; // read position in the chunk
    let d = 0; // write position in out
    let t = 0;
    for (let i = from; i < to; i++) {
      const lineAt = this.nAt[i]! + d - s;
      const argsAt = this.nArgsAt[i]! + d - s;
      places.lines.push(at + lineAt);
      places.args.push(at + argsAt);
      if (!this.nStored[i]) continue;
      d += chunk.copy(out, d, s, this.nArgsAt[i]!);
      s = this.nArgsAt[i]!;
      d += texts[t++]!.copy(out, d);
      out[d++] = CLOSE_BRACE;
      writeSum(out, lineAt, crc32(out.subarray(argsAt, d), this.nHeadSum[i]!));
      out[d++] = NEWLINE;
    }
    chunk.copy(out, d, s, used);
    return out.subarray(0, size);
  }

  private note(at: number, argsAt: number, stored: StoredArgs | undefined, id: string, headSum: number): void {
    this.nAt.push(at);
    this.nArgsAt.push(argsAt);
    this.nStored.push(stored);
    this.nIds.push(id);
    this.nHeadSum.push(headSum);
  }

  /** The line [start + 9, end) is written: its checksum before it, a newline after. */
  private seal(start: number, end: number): void {
    writeSum(this.buf, start, crc32(this.buf.subarray(start + 9, end)));
    this.buf[end] = NEWLINE;
    this.pos = end + 1;
    this.lineBuf = this.buf;
    this.lineStart = start;
    this.lineEnd = end + 1;
  }

  /** At least `bytes` free in the current chunk (a UTF-16 unit takes at most 3 bytes in UTF-8). */
  private room(bytes: number): void {
    if (this.buf.length - this.pos >= bytes) return;
    this.close();
    const size = Math.max(CHUNK_BYTES, bytes);
    const spare = this.spare.pop();
    if (spare !== undefined && spare.length >= size) this.buf = spare;
    else {
      if (spare !== undefined) this.spare.push(spare);
      this.buf = this.regions.take(size);
    }
    this.pos = 0;
    this.chunks.push(this.buf);
    this.used.push(0);
    this.notedFrom.push(this.nAt.length);
  }

  /** Keep the current chunk's used length. */
  private close(): void {
    if (this.chunks.length > 0) this.used[this.chunks.length - 1] = this.pos;
  }
}

/** The checksum as 8 hex digits and a space, at `start`. */
function writeSum(buf: Buffer, start: number, sum: number): void {
  for (let i = 7; i >= 0; i--) {
    buf[start + i] = HEX[sum & 15]!;
    sum >>>= 4;
  }
  buf[start + 8] = 0x20;
}
