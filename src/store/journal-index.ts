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
  /** The marks the journal wrote, the last value of each key (applied over the snapshot's). */
  readonly marks = new Map<string, string>();

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
      // Unusual bytes (an escape in the id, …), or a mark: decode it whole now, which also checks it.
      const ev = this.decodeAt(path, buf, start, end);
      if (ev.type === 'mark') {
        this.marks.set(ev.key, ev.value);
        return;
      }
      kind = ev.type === 'add' ? ADD : 0;
      id = ev.type === 'add' ? ev.job.id : ev.id;
      priority = ev.type === 'add' ? ev.job.priority : 0;
    }
    const n = this.size;
    this.where.push(file, start, end);
    const known = this.byId.get(id);
    if (known === undefined) this.byId.set(id, n);
    else if (typeof known === 'number') this.byId.set(id, [known, n]);
    else known.push(n);
    if (kind === ADD && priority > this.bestAdded) this.bestAdded = priority;
  }

  /** The journal's events for one job, in order, decoded; they are not returned by `remaining()`. */
  take(id: string): JobEvent[] | undefined {
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
    try {
      for (let n = 0; n < this.size; n++) if (!taken?.[n]) yield this.decode(n);
    } finally {
      // The segments' bytes are not needed any more, even when a record failed to decode.
      this.files.length = 0;
      this.byId.clear();
    }
  }

  private decode(n: number): JobEvent {
    const { path, buf } = this.files[this.where[n * 3]!]!;
    const start = this.where[n * 3 + 1]!;
    const ev = this.decodeAt(path, buf, start, this.where[n * 3 + 2]!);
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
