// Jobs sent without an id get a random version 4 UUID (src/job-id.ts): the RFC's format,
// every random digit random, and no repeats across the refills of its random bytes.
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { randomJobId } from '../src/job-id.js';
import { openApp } from './helpers.js';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

test('random job ids are version 4 UUIDs, distinct, each random digit taking every value', () => {
  const n = 5000; // about 20 refills of the random bytes
  const ids = Array.from({ length: n }, randomJobId);
  for (const id of ids) assert.match(id, UUID_V4);
  assert.equal(new Set(ids).size, n, 'no id repeats');
  for (let at = 0; at < 36; at++) {
    if ([8, 13, 14, 18, 23].includes(at)) continue; // dashes and the version digit
    const seen = new Set(ids.map((id) => id[at]));
    const expected = at === 19 ? 4 : 16; // the variant digit: 8, 9, a or b
    assert.equal(seen.size, expected, `character ${at} took ${seen.size} values, not ${expected}`);
  }
});

test('send() and sendMany() without an id give each job a random UUID', async (t) => {
  const app = await openApp(t);
  const one = await app.send('math.add', [1, 2]);
  const many = await app.sendMany('math.add', [
    [1, 2],
    [3, 4],
  ]);
  const ids = [one.id, ...many.map((h) => h.id)];
  for (const id of ids) assert.match(id, UUID_V4);
  assert.equal(new Set(ids).size, 3);
  assert.equal((await app.get(one.id))?.state, 'pending');
});
