// Reading a journal or snapshot file back: split into lines, check each checksum, and
// tell a torn tail (the crash cut the last write short: keep the valid prefix) from
// damage in the middle (valid records follow a bad one: refuse, never guess). A journal
// segment is preallocated with zero bytes (file-store.ts), so there a run of zeros after
// the last record is space not yet used, not a torn write.
import { crc32Of } from './crc32.js';

export interface LineScan {
  /** Byte offset of each valid record's line start. */
  starts: number[];
  /** Byte offset of each valid record's newline (parallel to starts); its JSON is buf[start + 9, end). */
  ends: number[];
  /** Bytes of the valid prefix. */
  validBytes: number;
  /** Set when bytes after the valid prefix hold no valid record: a torn tail. */
  tornTail?: { offset: number; bytes: number };
  /** Set when a bad record is followed by valid ones: damage in the middle. */
  corruptAt?: number;
  /** Bytes after the valid prefix that are all zero (with `zeroTail`): preallocated space, neither torn nor damaged. */
  unused?: number;
}

const NEWLINE = 0x0a;
const SPACE = 0x20;

/** The value of 8 lowercase hex digits at `at`, or -1. Read from bytes: no string, no regex per line. */
function hex8(buf: Buffer, at: number): number {
  let v = 0;
  for (let i = at; i < at + 8; i++) {
    const c = buf[i]!;
    const d = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : -1;
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

/** Whether buf[start, end) (up to its newline at `end`) is a framed line whose checksum holds. */
export function checkLine(buf: Buffer, start: number, end: number): boolean {
  if (end - start < 10 || buf[start + 8] !== SPACE) return false;
  const sum = hex8(buf, start);
  return sum >= 0 && crc32Of(buf, start + 9, end) === sum;
}

const ZEROS = Buffer.alloc(64 * 1024);

/**
 * Where the valid records are, without making a string of any (restart decodes from the
 * bytes). With `zeroTail` (a journal segment), zero bytes from the end of the valid prefix
 * to the end of the file are unused space: reported as `unused`, not as a torn tail. Zeros
 * followed by anything else still are: a torn write, or damage if a valid record follows.
 * `prefix`: the lines already checked while the file was being read (PrefixScan).
 */
export function scanLines(buf: Buffer, { zeroTail = false }: { zeroTail?: boolean } = {}, prefix?: PrefixScan): LineScan {
  const scan = scanPrefix(buf, prefix ?? new PrefixScan());
  if (!zeroTail || !scan.tornTail) return scan;
  const end = nonZeroEnd(buf, scan.validBytes);
  if (end === scan.validBytes) return { starts: scan.starts, ends: scan.ends, validBytes: scan.validBytes, unused: scan.tornTail.bytes };
  // A torn write into the zeros: report the bytes it left, not the zeros after them.
  return { ...scan, tornTail: { offset: scan.validBytes, bytes: end - scan.validBytes } };
}

/** The offset after the last non-zero byte of `buf` at or after `from` (`from` when there is none). */
function nonZeroEnd(buf: Buffer, from: number): number {
  let end = buf.length;
  while (end > from) {
    const at = Math.max(from, end - ZEROS.length);
    if (!buf.subarray(at, end).equals(ZEROS.subarray(0, end - at))) break;
    end = at;
  }
  while (end > from && buf[end - 1] === 0) end--;
  return end;
}

/**
 * The valid lines from the start of a buffer that is still being filled: `advance()`
 * checks the complete lines of each part as it arrives (restart checks a segment while
 * the rest of it is read), and stops at the first bad one; scanLines() finishes.
 */
export class PrefixScan {
  readonly starts: number[] = [];
  readonly ends: number[] = [];
  /** Where the next line starts. */
  pos = 0;
  /** A bad line is at `pos`. */
  private stopped = false;

  /** Check the complete lines in buf[pos, filled). */
  advance(buf: Buffer, filled: number): void {
    if (this.stopped) return;
    // Bytes past `filled` are not read yet: a newline there is no line's end.
    const view = filled === buf.length ? buf : buf.subarray(0, filled);
    let pos = this.pos;
    while (pos < filled) {
      const nl = view.indexOf(NEWLINE, pos);
      if (nl === -1) break;
      if (!checkLine(view, pos, nl)) {
        this.stopped = true;
        break;
      }
      this.starts.push(pos);
      this.ends.push(nl);
      pos = nl + 1;
    }
    this.pos = pos;
  }
}

function scanPrefix(buf: Buffer, prefix: PrefixScan): LineScan {
  prefix.advance(buf, buf.length);
  const { starts, ends, pos } = prefix;
  if (pos >= buf.length) return { starts, ends, validBytes: pos };
  // A bad line at `pos`. If any later line checks out, this is not a torn write.
  let probe = buf.indexOf(NEWLINE, pos);
  while (probe !== -1 && probe + 1 < buf.length) {
    const next = buf.indexOf(NEWLINE, probe + 1);
    if (next === -1) break;
    if (checkLine(buf, probe + 1, next)) return { starts, ends, validBytes: pos, corruptAt: pos };
    probe = next;
  }
  return { starts, ends, validBytes: pos, tornTail: { offset: pos, bytes: buf.length - pos } };
}

/** The JSON text of the i-th record of a scan. */
export function recordText(buf: Buffer, scan: LineScan, i: number): string {
  return buf.toString('utf8', scan.starts[i]! + 9, scan.ends[i]);
}

export interface Salvage {
  /** JSON texts of every record whose checksum holds, wherever it is in the file. */
  records: string[];
  /** Byte ranges that held no valid record. */
  damaged: { offset: number; bytes: number }[];
}

/**
 * Keep every intact line of a damaged file, and say exactly which bytes were not. With
 * `zeroTail` (a journal segment), zeros that run to the end of the file are unused space,
 * not damage.
 */
export function salvageRecords(buf: Buffer, { zeroTail = false }: { zeroTail?: boolean } = {}): Salvage {
  const records: string[] = [];
  const damaged: { offset: number; bytes: number }[] = [];
  let pos = 0;
  let badFrom = -1;
  while (pos < buf.length) {
    const nl = buf.indexOf(NEWLINE, pos);
    const end = nl === -1 ? buf.length : nl;
    if (nl !== -1 && checkLine(buf, pos, end)) {
      if (badFrom !== -1) damaged.push({ offset: badFrom, bytes: pos - badFrom });
      badFrom = -1;
      records.push(buf.toString('utf8', pos + 9, end));
    } else if (badFrom === -1) badFrom = pos;
    pos = end + 1;
  }
  if (badFrom !== -1) {
    const end = zeroTail ? nonZeroEnd(buf, badFrom) : buf.length;
    if (end > badFrom) damaged.push({ offset: badFrom, bytes: end - badFrom });
  }
  return { records, damaged };
}
