import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeEvent, frame } from '../src/store/codec.js';
import { PrefixScan, scanLines } from '../src/store/scan.js';

const lines = (n: number) =>
  Array.from({ length: n }, (_, i) =>
    frame(
      encodeEvent({
        type: 'add',
        job: { id: `j-${i}`, task: 't', args: `["${'x'.repeat(i % 50)}"]`, createdAt: 1, runAt: 0, expiresAt: 0, priority: 0 },
      }),
    ),
  ).join('');

/** `file` as restart reads it: in parts of `part` bytes, the bytes not yet read holding newlines and junk. */
function scanInParts(file: Buffer, part: number, zeroTail: boolean) {
  const buf = Buffer.alloc(file.length, '\n{junk}\n');
  const prefix = new PrefixScan();
  for (let filled = 0; filled < file.length; ) {
    const n = Math.min(part, file.length - filled);
    file.copy(buf, filled, filled, filled + n);
    filled += n;
    prefix.advance(buf, filled);
  }
  return scanLines(buf, { zeroTail }, prefix);
}

test('checking a file part by part while it is read finds what checking it whole finds', () => {
  const good = Buffer.from(lines(40));
  const torn = Buffer.concat([good, Buffer.from(lines(1)).subarray(0, 30)]);
  const damaged = Buffer.from(good);
  const mid = Math.floor(good.length / 2);
  damaged[mid] = damaged[mid]! ^ 0x01; // a bad line with good ones after it
  const zeros = Buffer.concat([good, Buffer.alloc(5000)]);
  const tornIntoZeros = Buffer.concat([good, Buffer.from('0000'), Buffer.alloc(300)]);
  for (const [name, file, zeroTail] of [
    ['intact', good, false],
    ['torn tail', torn, false],
    ['damaged in the middle', damaged, false],
    ['zeroed space after', zeros, true],
    ['a torn write into the zeros', tornIntoZeros, true],
  ] as const) {
    const whole = scanLines(file, { zeroTail });
    for (const part of [1, 7, 64, 100, 1000, file.length])
      assert.deepEqual(scanInParts(file, part, zeroTail), whole, `${name}, parts of ${part}`);
  }
  assert.equal(scanLines(good).starts.length, 40);
  assert.ok(scanLines(damaged).corruptAt !== undefined);
  assert.ok(scanLines(torn).tornTail);
});
