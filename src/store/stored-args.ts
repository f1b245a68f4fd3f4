// A finished job's arguments are read by few (get(), list(), show) and needed by none of
// the store's own paths but the snapshot writer: the owner keeps them on disk, where the
// snapshot holds them anyway, and remembers where (StoredArgs) instead of the text.
import type { FileHandle } from 'node:fs/promises';
import { CeleriacError } from '../errors.js';
import { checkLine } from './scan.js';

/**
 * An open snapshot file that finished jobs' args are read from. It stays readable after
 * a compaction renames a newer snapshot over its path (the descriptor, not the name, is
 * read); it is closed once the records that point into it were moved to the new one and
 * the reads in progress (and the holds) are done.
 */
export class ArgsFile {
  private holds = 0;
  private closing: Promise<void> | undefined;
  private closed!: () => void;

  constructor(
    readonly path: string,
    private readonly fh: FileHandle,
  ) {}

  /** Keep the file open until release(), across a close() asked for meanwhile. */
  hold(): void {
    this.holds++;
  }

  release(): void {
    if (--this.holds === 0 && this.closing) this.closed();
  }

  /** The bytes [offset, offset + length). */
  async read(offset: number, length: number): Promise<Buffer> {
    const buf = Buffer.allocUnsafe(length);
    this.hold();
    try {
      let done = 0;
      while (done < length) {
        const { bytesRead } = await this.fh.read(buf, done, length - done, offset + done);
        if (bytesRead === 0) throw new Error(`${this.path} ends before byte ${offset + length}`);
        done += bytesRead;
      }
      return buf;
    } finally {
      this.release();
    }
  }

  /** Close once no read is in progress and nothing holds the file. */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      this.closed = resolve;
      if (this.holds === 0) resolve();
    }).then(() => this.fh.close().catch(() => undefined));
    return this.closing;
  }
}

/**
 * Where a finished job's args (the JSON text of an array) are: `length` bytes at `offset`
 * of `file`, the tail of the checksummed line that starts at `lineAt` (`<args>}\n` ends it).
 * The line is read whole and its checksum verified again, so that bytes changed on disk
 * are refused, not returned or copied into the next snapshot under a fresh checksum.
 */
export class StoredArgs {
  constructor(
    readonly file: ArgsFile,
    readonly lineAt: number,
    readonly offset: number,
    readonly length: number,
  ) {}

  /** The offset just past the line's newline. */
  get lineEnd(): number {
    return this.offset + this.length + 2;
  }

  /** The args text; `id` (the job's) names it in the error if the line is damaged. */
  async read(id: string): Promise<string> {
    return argsOf(await this.file.read(this.lineAt, this.lineEnd - this.lineAt), 0, this, id);
  }
}

/**
 * The args of many stored records (`ids[i]` the job of `stored[i]`), in one read per run
 * of neighbouring lines: a compaction copies every finished job's.
 */
export async function readStoredArgs(stored: readonly StoredArgs[], ids: readonly string[]): Promise<string[]> {
  const out = new Array<string>(stored.length);
  await readRuns(stored, ids, (at, buf, from) => {
    out[at] = buf.toString('utf8', from, from + stored[at]!.length);
  });
  return out;
}

/** As readStoredArgs, the args' bytes (views of the reads): a compaction copies them as they are. */
export async function readStoredArgBytes(stored: readonly StoredArgs[], ids: readonly string[]): Promise<Buffer[]> {
  const out = new Array<Buffer>(stored.length);
  await readRuns(stored, ids, (at, buf, from) => {
    out[at] = buf.subarray(from, from + stored[at]!.length);
  });
  return out;
}

/** Read the lines of `stored` in runs, check each, and hand `take` where its args start in the run's buffer. */
async function readRuns(
  stored: readonly StoredArgs[],
  ids: readonly string[],
  take: (at: number, buf: Buffer, from: number) => void,
): Promise<void> {
  const order = stored.map((_, i) => i);
  // A compaction asks for them in the order they were written: sort only when not.
  if (!inPlaceOrder(stored)) order.sort((a, b) => byPlace(stored[a]!, stored[b]!));
  // Every file is held before the first await: a compaction that lands between two runs
  // closes the file the records pointed into, once no one holds it.
  const files = new Set(stored.map((s) => s.file));
  for (const f of files) f.hold();
  try {
    let i = 0;
    while (i < order.length) {
      const first = stored[order[i]!]!;
      let end = first.lineEnd;
      let j = i + 1;
      for (; j < order.length; j++) {
        const s = stored[order[j]!]!;
        if (s.file !== first.file || s.lineAt - end > GAP_BYTES || s.lineEnd - first.lineAt > RUN_BYTES) break;
        end = Math.max(end, s.lineEnd);
      }
      const buf = await first.file.read(first.lineAt, end - first.lineAt);
      for (let k = i; k < j; k++) {
        const at = order[k]!;
        const s = stored[at]!;
        take(at, buf, argsStart(buf, s.lineAt - first.lineAt, s, ids[at]!));
      }
      i = j;
    }
  } finally {
    for (const f of files) f.release();
  }
}

/** The args text of `at`, whose line starts at `start` in `buf`; refused unless the line's checksum still holds. */
function argsOf(buf: Buffer, start: number, at: StoredArgs, id: string): string {
  const from = argsStart(buf, start, at, id);
  return buf.toString('utf8', from, from + at.length);
}

/** Where the args of `at` start in `buf` (its line at `start`), once the line's checksum is checked. */
function argsStart(buf: Buffer, start: number, at: StoredArgs, id: string): number {
  const newline = start + at.lineEnd - at.lineAt - 1;
  if (buf[newline] !== 0x0a || !checkLine(buf, start, newline))
    throw new CeleriacError(
      'CORRUPT_JOURNAL',
      `snapshot ${at.file.path} at byte ${at.lineAt}: the line of finished job ${JSON.stringify(id)} changed on disk since it was checked (checksum mismatch); restore the snapshot from a backup, or run \`celeriac doctor --repair\``,
    );
  return start + at.offset - at.lineAt;
}

/** Bytes between two records' lines that are read through rather than skipped (about one job line). */
const GAP_BYTES = 4096;
/** Longest single read. */
const RUN_BYTES = 4 << 20;

const fileIds = new WeakMap<ArgsFile, number>();
let nextFileId = 0;
function byPlace(a: StoredArgs, b: StoredArgs): number {
  if (a.file !== b.file) return idOf(a.file) - idOf(b.file);
  return a.lineAt - b.lineAt;
}
function inPlaceOrder(stored: readonly StoredArgs[]): boolean {
  for (let i = 1; i < stored.length; i++) {
    const a = stored[i - 1]!;
    const b = stored[i]!;
    if (a.file !== b.file || a.lineAt > b.lineAt) return false;
  }
  return true;
}
function idOf(f: ArgsFile): number {
  let id = fileIds.get(f);
  if (id === undefined) fileIds.set(f, (id = nextFileId++));
  return id;
}
