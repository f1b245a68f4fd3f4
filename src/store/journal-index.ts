// The journal's records, checked and indexed by job but not yet decoded. A restart needs
// two things from the journal before it can run the first jobs of the snapshot: which jobs
// the journal has events for (their snapshot records change), and the best priority it
// added (it may outrank the snapshot's jobs). Decoding every record first took most of the
// time before the first job ran (each add makes its args string and two objects); the
// records are decoded later, when the job they belong to is read.
import { CeleriacError } from '../errors.js';
import type { JobEvent } from '../jobs.js';
import { type decodeEvent, decodeLine, type MarkRecord } from './codec.js';
import type { FastDecoder } from './fast-decode.js';

const ADD = 0x61;
/** idEnd of a record whose id is held as a string (see `slowIds`): no line's id ends at byte 0. */
const SLOW = 0;

/**
 * A 32-bit FNV-1a hash of UTF-8 bytes. Ids are hashed from the journal's bytes at add() and
 * from the snapshot's id strings at take(): the same bytes give the same hash.
 */
function hashBytes(buf: Uint8Array, from: number, to: number): number {
  let h = 0x811c9dc5;
  for (let i = from; i < to; i++) h = Math.imul(h ^ buf[i]!, 0x01000193);
  return h;
}

/** hashBytes() of the UTF-8 of `id`, without encoding it when it is ASCII (a UTF-16 unit below 0x80 is its own byte). */
function hashString(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    if (c >= 0x80) {
      const bytes = Buffer.from(id, 'utf8');
      return hashBytes(bytes, 0, bytes.length);
    }
    h = Math.imul(h ^ c, 0x01000193);
  }
  return h;
}

/** A growable column of 32-bit values, one per record. */
function grow<T extends Int32Array | Uint32Array>(col: T, size: number): T {
  if (size <= col.length) return col;
  const bigger = new (col.constructor as new (n: number) => T)(Math.max(size, col.length * 2));
  bigger.set(col);
  return bigger;
}

/**
 * The index keeps no string and no Map entry per record: with many pending jobs, building
 * those would be most of the work before the first job, and garbage. Records are numbered in journal
 * order; per record it keeps its file, where its line and its id's bytes lie, and a hash
 * of the id. A table of chains by hash is built once, at the first lookup.
 */
export class JournalIndex {
  private readonly files: { path: string; buf: Buffer }[] = [];
  private count = 0;
  private fileOf = new Int32Array(1024);
  private starts = new Uint32Array(1024);
  /** The line's newline. */
  private ends = new Uint32Array(1024);
  /** Where the id's bytes end (they start at the line's start + ID_AT); SLOW: the id is in `slowIds`. */
  private idEnds = new Uint32Array(1024);
  private hashes = new Int32Array(1024);
  /** Ids of records the fast path did not read (an escape or a non-ASCII byte in them): few. */
  private readonly slowIds = new Map<number, string>();
  /** Chain heads by hash bucket, and each record's next in its chain (−1: end), in journal order; built at the first lookup. */
  private heads: Int32Array | undefined;
  private chain: Int32Array | undefined;
  /** Records whose events were taken with their job's snapshot record. */
  private taken: Uint8Array | undefined;
  /** The highest priority of any job the journal added (−∞: none). */
  bestAdded = Number.NEGATIVE_INFINITY;
  /** The marks the journal wrote, the last value of each key (applied over the snapshot's). */
  readonly marks = new Map<string, string>();

  constructor(private readonly fast: FastDecoder) {}

  get size(): number {
    return this.count;
  }

  /** Make room for `records` more records (a segment's count, known before they are added). */
  reserve(records: number): void {
    const size = this.count + records;
    this.fileOf = grow(this.fileOf, size);
    this.starts = grow(this.starts, size);
    this.ends = grow(this.ends, size);
    this.idEnds = grow(this.idEnds, size);
    this.hashes = grow(this.hashes, size);
  }

  addFile(path: string, buf: Buffer): number {
    this.files.push({ path, buf });
    return this.files.length - 1;
  }

  /** Index one record (its checksum already checked); throws if it cannot be an event. */
  add(file: number, start: number, end: number): void {
    if (this.heads) throw new Error('JournalIndex.add() after the first lookup');
    const { buf, path } = this.files[file]!;
    const peek = this.fast.peek(buf, start + 9, end);
    let kind: number;
    let priority: number;
    let idEnd = SLOW;
    let hash = 0;
    let slowId: string | undefined;
    if (peek && isAscii(buf, peek.idFrom, peek.idTo)) {
      kind = peek.kind;
      priority = peek.priority;
      idEnd = peek.idTo;
      hash = hashBytes(buf, peek.idFrom, peek.idTo);
    } else {
      // Unusual bytes (an escape or a non-ASCII byte in the id, …), or a mark: decode it whole now, which also checks it.
      const ev = this.decodeAt(path, buf, start, end);
      if (ev.type === 'mark') {
        this.marks.set(ev.key, ev.value);
        return;
      }
      kind = ev.type === 'add' ? ADD : 0;
      slowId = ev.type === 'add' ? ev.job.id : ev.id;
      priority = ev.type === 'add' ? ev.job.priority : 0;
      hash = hashString(slowId);
    }
    if (this.count === this.starts.length) this.reserve(1);
    const n = this.count++;
    this.fileOf[n] = file;
    this.starts[n] = start;
    this.ends[n] = end;
    this.idEnds[n] = idEnd;
    this.hashes[n] = hash;
    if (slowId !== undefined) this.slowIds.set(n, slowId);
    if (kind === ADD && priority > this.bestAdded) this.bestAdded = priority;
  }

  /** The journal's events for one job, in order, decoded; they are not returned by `remaining()`. */
  take(id: string): JobEvent[] | undefined {
    const { heads, chain } = this.table();
    const hash = hashString(id);
    const taken = (this.taken ??= new Uint8Array(this.count));
    let events: JobEvent[] | undefined;
    for (let n = heads[hash & (heads.length - 1)]!; n !== -1; n = chain[n]!) {
      if (this.hashes[n] !== hash || taken[n] || !this.isOf(n, id)) continue;
      taken[n] = 1;
      (events ??= []).push(this.decode(n));
    }
    return events;
  }

  /** Every event not taken, in journal order, decoded; the index is spent after. */
  *remaining(): Generator<JobEvent> {
    const taken = this.taken;
    try {
      for (let n = 0; n < this.count; n++) if (!taken?.[n]) yield this.decode(n);
    } finally {
      // The segments' bytes are not needed any more, even when a record failed to decode.
      this.files.length = 0;
      this.heads = this.chain = undefined;
      this.slowIds.clear();
    }
  }

  /** The chains by hash, built once every record is added. */
  private table(): { heads: Int32Array; chain: Int32Array } {
    if (this.heads && this.chain) return { heads: this.heads, chain: this.chain };
    let buckets = 16;
    while (buckets < this.count * 2) buckets *= 2;
    const heads = new Int32Array(buckets).fill(-1);
    const chain = new Int32Array(this.count);
    const mask = buckets - 1;
    // Pushed from the last record to the first, each chain runs in journal order.
    for (let n = this.count - 1; n >= 0; n--) {
      const b = this.hashes[n]! & mask;
      chain[n] = heads[b]!;
      heads[b] = n;
    }
    this.heads = heads;
    this.chain = chain;
    return { heads, chain };
  }

  /** Whether record n is about job `id`. */
  private isOf(n: number, id: string): boolean {
    const idEnd = this.idEnds[n]!;
    if (idEnd === SLOW) return this.slowIds.get(n) === id;
    const buf = this.files[this.fileOf[n]!]!.buf;
    const from = this.starts[n]! + ID_AT;
    // The id's bytes are ASCII (add() checked): one byte per UTF-16 unit.
    if (idEnd - from !== id.length) return false;
    for (let i = 0; i < id.length; i++) if (buf[from + i] !== id.charCodeAt(i)) return false;
    return true;
  }

  private decode(n: number): JobEvent {
    const { path, buf } = this.files[this.fileOf[n]!]!;
    const start = this.starts[n]!;
    const ev = this.decodeAt(path, buf, start, this.ends[n]!);
    if (ev.type === 'mark')
      throw new CeleriacError('CORRUPT_JOURNAL', `journal ${path} at byte ${start}: a mark record was indexed as a job's`);
    return ev;
  }

  private decodeAt(path: string, buf: Buffer, start: number, end: number): JobEvent | MarkRecord {
    let ev: ReturnType<typeof decodeEvent>;
    try {
      ev = decodeLine(buf, start, end, this.fast);
    } catch (err) {
      throw new CeleriacError(
        'CORRUPT_JOURNAL',
        `journal ${path} at byte ${start}: a record with a valid checksum does not decode (${(err as Error).message})`,
      );
    }
    if (ev.type === 'header' || ev.type === 'job') {
      throw new CeleriacError('CORRUPT_JOURNAL', `journal ${path} at byte ${start}: unexpected ${ev.type} record inside a journal`);
    }
    return ev;
  }
}

/** Where a peeked id starts in its line: after the 9 bytes of checksum and space, and `{"o":"x","i":"`. */
const ID_AT = 9 + 14;

function isAscii(buf: Buffer, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (buf[i]! >= 0x80) return false;
  return true;
}
