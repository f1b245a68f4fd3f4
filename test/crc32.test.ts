import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { crc32 } from 'node:zlib';
import { crc32Of } from '../src/store/crc32.js';

test("crc32Of() gives zlib's CRC-32 of any run of a buffer, short or long", () => {
  const buf = randomBytes(20_000);
  // Every length up to past the table loop's limit, at offsets that cut the 8-byte steps differently.
  for (let len = 0; len <= 4200; len += len < 64 ? 1 : 37) {
    for (const from of [0, 1, 3, 7, 13])
      assert.equal(crc32Of(buf, from, from + len), crc32(buf.subarray(from, from + len)), `${from}+${len}`);
  }
  assert.equal(crc32Of(buf, 5, 20_000), crc32(buf.subarray(5)));
  const line = Buffer.from('{"o":"a","i":"x","n":"t","t":1,"a":["é"]}');
  assert.equal(crc32Of(line, 0, line.length), crc32(line));
});
