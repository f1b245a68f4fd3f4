// Transient bulk buffers (a snapshot's chunks and read slices) are carved out of large
// regions (src/store/mapped-regions.ts): each take is its own bytes, never another's.
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { MappedRegions } from '../src/store/mapped-regions.js';

test('buffers taken from regions have the size asked for and never share a byte, across regions and after a release', () => {
  const regions = new MappedRegions();
  const taken: Buffer[] = [];
  // Sizes that fill a 64 MiB region unevenly, one larger than a region, and takes after a release.
  const sizes = [1 << 20, 3, (1 << 20) + 17, 40 << 20, 30 << 20, 70 << 20, 5, 1 << 20];
  sizes.forEach((size, i) => {
    if (i === 6) regions.release();
    const buf = regions.take(size);
    assert.equal(buf.length, size);
    buf.fill(i + 1);
    taken.push(buf);
  });
  taken.forEach((buf, i) => {
    for (let k = 0; k < buf.length; k += 4093) assert.equal(buf[k], i + 1, `take ${i}, byte ${k}`);
    assert.equal(buf[buf.length - 1], i + 1, `take ${i}, last byte`);
  });
});
