// Reading a journal segment at restart while its lines are checked: the file is read in
// parts on the thread pool, and each part's lines are checked on this thread while the
// next part is read, instead of reading the whole segment first (the kernel's handing out
// of fresh pages can be most of that) and checking it after.
import { open } from 'node:fs/promises';
import { READ_NOFOLLOW } from './io.js';
import { PrefixScan } from './scan.js';

/** Bytes per read: enough to keep the read ahead of the checks, few enough to start checking soon. */
const PART = 4 << 20;

/** The whole file (as stat sized it; it is opened without following a symlink) and its lines checked so far. */
export async function readSegment(path: string): Promise<{ buf: Buffer; prefix: PrefixScan }> {
  const fh = await open(path, READ_NOFOLLOW);
  try {
    const { size } = await fh.stat();
    const buf = Buffer.allocUnsafe(size);
    const prefix = new PrefixScan();
    let filled = 0;
    let reading = size > 0 ? fh.read(buf, 0, Math.min(PART, size), 0) : undefined;
    while (reading) {
      const { bytesRead } = await reading;
      if (bytesRead === 0) return { buf: buf.subarray(0, filled), prefix }; // cut short since the stat
      filled += bytesRead;
      reading = filled < size ? fh.read(buf, filled, Math.min(PART, size - filled), filled) : undefined;
      prefix.advance(buf, filled);
    }
    return { buf, prefix };
  } finally {
    await fh.close();
  }
}
