// The CRC-32 (zlib's) of a short run of a buffer, in JavaScript. A restart checks every
// line of the journal and the snapshot, most of them short: for those, zlib.crc32() costs
// more in its call and the subarray it needs than in the sum.
// Long runs still go to zlib, which is faster per byte.
import { crc32 as zlibCrc32 } from 'node:zlib';

/** Up to this many bytes the table loop below is cheaper than a call into zlib. */
const SHORT = 4096;

/** Slicing-by-8 tables: TABLE[k * 256 + b] is the CRC of byte b followed by k zero bytes. */
const TABLE = new Int32Array(8 * 256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  TABLE[n] = c;
}
for (let n = 0; n < 256; n++) {
  for (let k = 1; k < 8; k++) {
    const prev = TABLE[(k - 1) * 256 + n]!;
    TABLE[k * 256 + n] = (prev >>> 8) ^ TABLE[prev & 0xff]!;
  }
}

/** The CRC-32 of buf[from, to), as zlib.crc32(buf.subarray(from, to)) gives it. */
export function crc32Of(buf: Uint8Array, from: number, to: number): number {
  if (to - from > SHORT) return zlibCrc32(buf.subarray(from, to));
  const t = TABLE;
  let c = -1;
  let i = from;
  for (; i + 8 <= to; i += 8) {
    c ^= buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24);
    c =
      t[1792 + (c & 0xff)]! ^
      t[1536 + ((c >>> 8) & 0xff)]! ^
      t[1280 + ((c >>> 16) & 0xff)]! ^
      t[1024 + (c >>> 24)]! ^
      t[768 + buf[i + 4]!]! ^
      t[512 + buf[i + 5]!]! ^
      t[256 + buf[i + 6]!]! ^
      t[buf[i + 7]!]!;
  }
  for (; i < to; i++) c = t[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}
