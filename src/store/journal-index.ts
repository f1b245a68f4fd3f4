// The journal's records, checked and indexed by job but not yet decoded. A restart needs
// two things from the journal before it can run the first jobs of the snapshot: which jobs
// the journal has events for (their snapshot records change), and the best priority it
// added (it may outrank the snapshot's jobs). Decoding every record first took most of the
// time before the first job ran (each add makes its args string and two objects); the
// records are decoded later, when the job they belong to is read.
import { CeleriacError } from '../errors.js';
import type { JobEvent } from '../jobs.js';
import { decodeEvent, decodeLine } from './codec.js';
import type { FastDecoder } from './fast-decode.js';

const ADD = 0x61;

export class JournalIndex {
  private readonly files: { path: string; buf: Buffer }[] = [];
  /** Per record: its file, start and end (the line's newline), flat. */
  private readonly where: number[] = [];
  /** Record numbers by job id, in journal order; a job's entry leaves when its events are taken. */
  private readonly byId = new Map<string, number | number[]>();
  /** Records whose events were taken with their job's snapshot record. */
  private taken: Uint8Array | undefined;
  /** The highest priority of any job the journal added (−∞: none). */
  bestAdded = Number.NEGATIVE_INFINITY;
  /**
   * A Bloom filter of the ids in `byId`, grown with it: most snapshot records have no
   * journal event, and a miss in a Map of a few hundred thousand ids costs ~0.5 µs (cache
   * misses), a bit test a few ns — over a million snapshot records, most of a second.
   */
  private bits = new Uint32Array(1 << 11);
  private filtered = 0;

  constructor(private readonly fast: FastDecoder) {}

  get size(): number {
    return this.where.length / 3;
  }

  addFile(path: string, buf: Buffer): number {
    this.files.push({ path, buf });
    return this.files.length - 1;
  }

  /** Index one record (its checksum already checked); throws if it cannot be an event. */
  add(file: number, start: number, end: number): void {
    const { buf, path } = this.files[file]!;
    let kind: number;
    let id: string;
    let priority: number;
    const peek = this.fast.peek(buf, start + 9, end);
    if (peek) ({ kind, id, priority } = peek);
    else {
      // Unusual bytes (an escape in the id, …): decode it whole now, which also checks it.
      const ev = this.decodeAt(path, buf, start, end);
      kind = ev.type === 'add' ? ADD : 0;
      id = ev.type === 'add' ? ev.job.id : ev.id;
      priority = ev.type === 'add' ? ev.job.priority : 0;
    }
    const n = this.size;
    this.where.push(file, start, end);
    const known = this.byId.get(id);
    if (known === undefined) {
      this.byId.set(id, n);
      this.remember(id);
    }
    else if (typeof known === 'number') this.byId.set(id, [known, n]);
    else known.push(n);
    if (kind === ADD && priority > this.bestAdded) this.bestAdded = priority;
  }

  /** The journal's events for one job, in order, decoded; they are not returned by `remaining()`. */
  take(id: string): JobEvent[] | undefined {
    if (!this.mayHave(id)) return undefined;
    const known = this.byId.get(id);
    if (known === undefined) return undefined;
    this.byId.delete(id);
    this.taken ??= new Uint8Array(this.size);
    const numbers = typeof known === 'number' ? [known] : known;
    for (const n of numbers) this.taken[n] = 1;
    return numbers.map((n) => this.decode(n));
  }

  /** Every event not taken, in journal order, decoded; the index is spent after. */
  *remaining(): Generator<JobEvent> {
    const taken = this.taken;
    for (let n = 0; n < this.size; n++) if (!taken?.[n]) yield this.decode(n);
    this.files.length = 0;
    this.byId.clear();
  }

  private remember(id: string): void {
    // About 16 bits per id: under 1 % false positives with two probes.
    if (++this.filtered * 16 > this.bits.length * 32) this.grow();
    this.set(hashOf(id));
  }

  private grow(): void {
    this.bits = new Uint32Array(this.bits.length * 4);
    for (const id of this.byId.keys()) this.set(hashOf(id));
  }

  private set(h: number): void {
    const mask = this.bits.length * 32 - 1;
    const a = h & mask;
    const b = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) & mask;
    this.bits[a >>> 5]! |= 1 << (a & 31);
    this.bits[b >>> 5]! |= 1 << (b & 31);
  }

  private mayHave(id: string): boolean {
    const h = hashOf(id);
    const mask = this.bits.length * 32 - 1;
    const a = h & mask;
    const b = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) & mask;
    return (this.bits[a >>> 5]! & (1 << (a & 31))) !== 0 && (this.bits[b >>> 5]! & (1 << (b & 31))) !== 0;
  }

  private decode(n: number): JobEvent {
    const { path, buf } = this.files[this.where[n * 3]!]!;
    return this.decodeAt(path, buf, this.where[n * 3 + 1]!, this.where[n * 3 + 2]!);
  }

  private decodeAt(path: string, buf: Buffer, start: number, end: number): JobEvent {
    let ev: ReturnType<typeof decodeEvent>;
    try {
      ev = decodeLine(buf, start, end, this.fast);
    } catch (err) {
      throw new CeleriacError('CORRUPT_JOURNAL', `journal ${path} at byte ${start}: a record with a valid checksum does not decode (${(err as Error).message})`);
    }
    if (ev.type === 'header' || ev.type === 'job') {
      throw new CeleriacError('CORRUPT_JOURNAL', `journal ${path} at byte ${start}: unexpected ${ev.type} record inside a journal`);
    }
    return ev;
  }
}

/** FNV-1a over the UTF-16 code units, finished with a multiply-xorshift (both probes need well-mixed low bits). */
function hashOf(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  return (h ^ (h >>> 13)) >>> 0;
}
