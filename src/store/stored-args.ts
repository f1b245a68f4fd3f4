// A finished job's arguments are read by few (get(), list(), show) and needed by none of
// the store's own paths but the snapshot writer: the owner keeps them on disk, where the
// snapshot holds them anyway, and remembers where (StoredArgs) instead of the text.
import type { FileHandle } from 'node:fs/promises';
import { CeleriacError } from '../errors.js';

/**
 * An open snapshot file that finished jobs' args are read from. It stays readable after
 * a compaction renames a newer snapshot over its path (the descriptor, not the name, is
 * read); it is closed once the records that point into it were moved to the new one and
 * the reads in progress are done.
 */
export class ArgsFile {
  private reading = 0;
  private closing: Promise<void> | undefined;
  private closed!: () => void;

  constructor(
    readonly path: string,
    private readonly fh: FileHandle,
  ) {}

  /** The bytes [offset, offset + length). */
  async read(offset: number, length: number): Promise<Buffer> {
    const buf = Buffer.allocUnsafe(length);
    this.reading++;
    try {
      let done = 0;
      while (done < length) {
        const { bytesRead } = await this.fh.read(buf, done, length - done, offset + done);
        if (bytesRead === 0) throw new Error(`${this.path} ends before byte ${offset + length}`);
        done += bytesRead;
      }
      return buf;
    } finally {
      if (--this.reading === 0 && this.closing) this.closed();
    }
  }

  /** Close once no read is in progress. */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      this.closed = resolve;
      if (this.reading === 0) resolve();
    }).then(() => this.fh.close().catch(() => undefined));
    return this.closing;
  }
}

/** Where a finished job's args (the JSON text of an array) are: `length` bytes at `offset` of `file`. */
export class StoredArgs {
  constructor(
    readonly file: ArgsFile,
    readonly offset: number,
    readonly length: number,
  ) {}

  async read(): Promise<string> {
    return checked((await this.file.read(this.offset, this.length)).toString('utf8'), this);
  }
}

/**
 * The args of many stored records, in one read per run of neighbouring records (a
 * compaction copies a million of them: one read each would take seconds).
 */
export async function readStoredArgs(stored: readonly StoredArgs[]): Promise<string[]> {
  const out = new Array<string>(stored.length);
  const order = stored.map((_, i) => i);
  // A compaction asks for them in the order they were written: sort only when not.
  if (!inPlaceOrder(stored)) order.sort((a, b) => byPlace(stored[a]!, stored[b]!));
  let i = 0;
  while (i < order.length) {
    const first = stored[order[i]!]!;
    let end = first.offset + first.length;
    let j = i + 1;
    for (; j < order.length; j++) {
      const s = stored[order[j]!]!;
      if (s.file !== first.file || s.offset - end > GAP_BYTES || s.offset + s.length - first.offset > RUN_BYTES) break;
      end = Math.max(end, s.offset + s.length);
    }
    const text = await first.file.read(first.offset, end - first.offset);
    for (let k = i; k < j; k++) {
      const s = stored[order[k]!]!;
      out[order[k]!] = checked(text.toString('utf8', s.offset - first.offset, s.offset - first.offset + s.length), s);
    }
    i = j;
  }
  return out;
}

/** The args text read for `at`, refused if it cannot be what was checked. */
function checked(text: string, at: StoredArgs): string {
  // The line was checksummed when it was read or written; bytes changed on disk since are damage.
  if (text[0] !== '[' || text[text.length - 1] !== ']')
    throw new CeleriacError(
      'CORRUPT_JOURNAL',
      `snapshot ${at.file.path} at byte ${at.offset}: a finished job's args changed on disk since they were checked; restore the snapshot from a backup, or run \`celeriac doctor --repair\``,
    );
  return text;
}

/** Bytes between two records' args that are read through rather than skipped (one job line). */
const GAP_BYTES = 4096;
/** Longest single read. */
const RUN_BYTES = 4 << 20;

const fileIds = new WeakMap<ArgsFile, number>();
let nextFileId = 0;
function byPlace(a: StoredArgs, b: StoredArgs): number {
  if (a.file !== b.file) return idOf(a.file) - idOf(b.file);
  return a.offset - b.offset;
}
function inPlaceOrder(stored: readonly StoredArgs[]): boolean {
  for (let i = 1; i < stored.length; i++) {
    const a = stored[i - 1]!;
    const b = stored[i]!;
    if (a.file !== b.file || a.offset > b.offset) return false;
  }
  return true;
}
function idOf(f: ArgsFile): number {
  let id = fileIds.get(f);
  if (id === undefined) fileIds.set(f, (id = nextFileId++));
  return id;
}
