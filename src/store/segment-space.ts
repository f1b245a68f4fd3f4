// Journal segments are written ahead with zero bytes, as PostgreSQL does with its WAL
// segments. A synchronized write into blocks the file already has (allocated, written,
// inside its size) only has to put its data on disk; an appending write also commits
// the file's new size and blocks through the filesystem's own journal. Measured here
// (ext4 on a virtio disk, O_DSYNC writes from the libuv pool): 200-byte appends 0.35-0.45
// ms each, into zeroed space 0.28-0.31 ms; 220 KB appends 0.68-0.72 ms, into zeroed space
// 0.36-0.46 ms. `npm run bench` prints both rates among the machine's limits.
//
// Readers treat zeros after the last record as unused space (scan.ts). Durability never
// rests on the zeros: an O_DSYNC write also makes durable whatever size and blocks it
// needs, so a write past the zeros (before a zeroing is done, when it was skipped or
// failed, or into zeros an earlier process left unsynced) is an ordinary synchronized
// append, only slower. What the zeros do change: after a power loss (not a process
// kill, which leaves the page cache intact) the pages of the write in progress may land
// out of order, and zeros followed by a valid line are refused as damage (README,
// Semantics), where a torn append used to be a short tail. Zeroing is skipped while the
// disk is nearly full: celeriac must not be the one that fills it with zeros (the host,
// and a send's clear DISK_FULL error, come first).
import { open, statfs } from 'node:fs/promises';
import { dirname } from 'node:path';
import { WRITE_NOFOLLOW } from './io.js';

const ZEROS = Buffer.alloc(1024 * 1024);
/** Bytes after the last write left to appends while a zeroing starts beyond them (at most half a chunk). */
export const ZERO_LEAD = 64 * 1024;
/** Zero a chunk only while the disk has this many chunks free. */
const FREE_CHUNKS_NEEDED = 16;

export class SegmentSpace {
  /**
   * Writes ending at or before this offset never meet a zeroing in progress: the file's
   * zeroed space, or, while a zeroing runs, where it starts.
   */
  private end: number;
  private zeroing: Promise<void> | undefined;
  /** After a skipped or failed zeroing: no new one before appends reach this offset. */
  private retryAt = 0;

  /**
   * `end`: where the zeros already in the file end (its size when the reader found only
   * zeros after the records). `chunk`: bytes zeroed at a time, once less than half of a
   * chunk is left.
   */
  constructor(
    private readonly path: string,
    end: number,
    private readonly chunk: number,
  ) {
    this.end = end;
  }

  /**
   * Call before writing up to `to`: the zeroing to wait for when the write would reach
   * into bytes being zeroed, else undefined (most writes: no promise to await).
   */
  beforeWrite(to: number): Promise<void> | undefined {
    return this.zeroing !== undefined && to > this.end ? this.zeroing : undefined;
  }

  /**
   * Call after a write that ended at `offset`: zeroes the next chunk in the background when
   * the space runs low. A zeroing starts ZERO_LEAD bytes past the write at the least, so the
   * writes that follow at once (a fresh segment's first sends) go on meanwhile, as appends,
   * instead of waiting for the whole chunk to be zeroed.
   */
  afterWrite(offset: number): void {
    if (this.zeroing !== undefined || offset < this.retryAt || this.end - offset >= this.chunk / 2) return;
    const from = Math.max(this.end, offset + Math.min(ZERO_LEAD, this.chunk / 2));
    this.end = from;
    this.zeroing = zeroRange(this.path, from, this.chunk)
      .then(
        (zeroed) => {
          if (zeroed) this.end = from + this.chunk;
          else this.retryAt = from + this.chunk;
        },
        () => {
          // Most likely the disk filled up meanwhile: the journal goes on appending (and
          // reports ENOSPC on its own writes if it comes to that). Zeros already written
          // are harmless.
          this.retryAt = from + this.chunk;
        },
      )
      .finally(() => {
        this.zeroing = undefined;
      });
  }

  /**
   * The write at `offset` failed and the file was cut back to it: nothing past it counts
   * as zeroed. A zeroing in progress still marks its own range when it ends; the cut
   * bytes before that range read as zeros (a hole) and are written like any append.
   */
  truncatedTo(offset: number): void {
    this.end = Math.min(this.end, offset);
  }

  /** Resolves once no zeroing is in progress (before the file is closed or the lock released). */
  async settle(): Promise<void> {
    while (this.zeroing !== undefined) await this.zeroing;
  }
}

/** Write `bytes` zeros at `from` and make them and the file's new size durable; false when the disk is too full to. */
async function zeroRange(path: string, from: number, bytes: number): Promise<boolean> {
  const { bavail, bsize } = await statfs(dirname(path));
  if (bavail * bsize < FREE_CHUNKS_NEEDED * bytes) return false;
  const fh = await open(path, WRITE_NOFOLLOW);
  try {
    for (let done = 0; done < bytes; ) {
      const { bytesWritten } = await fh.write(ZEROS, 0, Math.min(ZEROS.length, bytes - done), from + done);
      done += bytesWritten;
    }
    await fh.datasync();
    return true;
  } finally {
    await fh.close();
  }
}

/**
 * Bytes zeroed at a time: a quarter of compactAfterBytes, at least 4 KiB and at most 4 MiB,
 * in whole 4 KiB pages. A new chunk starts when less than half of one is left, so up to
 * 1.5 chunks of zeros follow the records. Zeroing 4 MiB took 4.5 ms here, and a
 * synchronized append waiting behind it up to 2.7 ms (16 MiB: 14 ms, 8.7 ms).
 */
export function zeroChunkBytes(compactAfterBytes: number): number {
  const quarter = Math.min(4 * 1024 * 1024, Math.max(4096, compactAfterBytes / 4));
  return Math.ceil(quarter / 4096) * 4096;
}
