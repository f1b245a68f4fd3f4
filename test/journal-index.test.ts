import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeEvent, encodeMark, frame } from '../src/store/codec.js';
import { FastDecoder } from '../src/store/fast-decode.js';
import { JournalIndex } from '../src/store/journal-index.js';
import type { JobEvent } from '../src/jobs.js';
import { scanLines } from '../src/store/scan.js';

const add = (id: string, priority = 0): JobEvent => ({
  type: 'add',
  job: { id, task: 't', args: '[]', createdAt: 1, runAt: 0, expiresAt: 0, priority },
});
const start = (id: string, at: number): JobEvent => ({ type: 'start', id, at });

/** An index over one segment holding these records (marks as [key, value]). */
function indexOf(records: Array<JobEvent | [string, string]>): JournalIndex {
  const buf = Buffer.from(records.map((r) => frame(Array.isArray(r) ? encodeMark(r[0], r[1]) : encodeEvent(r))).join(''));
  const scan = scanLines(buf);
  const index = new JournalIndex(new FastDecoder());
  const file = index.addFile('journal-00000001.log', buf);
  for (let r = 0; r < scan.starts.length; r++) index.add(file, scan.starts[r]!, scan.ends[r]!);
  return index;
}

const idOf = (ev: JobEvent) => (ev.type === 'add' ? ev.job.id : ev.id);

test('the journal index gives each job exactly its own events, in journal order, whatever bytes its id holds', () => {
  // Ids the fast path reads from the bytes, and ids it leaves to the general decoder
  // (an escape, non-ASCII bytes), some sharing a prefix or a length with another.
  const ids = ['a', 'b', 'ab', 'ba', 'job-1', 'job-10', 'jöb-1', 'job"1', 'j\\b', '任务-1', '😀', 'x'.repeat(300)];
  const records: Array<JobEvent | [string, string]> = [];
  ids.forEach((id, i) => records.push(add(id, i)));
  records.push(['cursor', '7']);
  ids.forEach((id, i) => records.push(start(id, 100 + i)));
  ids.forEach((id, i) => records.push(start(id, 200 + i)));
  const index = indexOf(records);

  assert.equal(index.size, ids.length * 3, 'a mark is not a job record');
  assert.equal(index.marks.get('cursor'), '7');
  assert.equal(index.bestAdded, ids.length - 1);
  assert.equal(index.take('job-2'), undefined, 'an id the journal does not hold');
  assert.equal(index.take('jöb'), undefined);

  // Take every other job; the rest come back from remaining(), in journal order.
  const takenIds = ids.filter((_, i) => i % 2 === 1 || ids[i]!.length > 3);
  for (const id of takenIds) {
    const events = index.take(id);
    assert.ok(events, id);
    const i = ids.indexOf(id);
    assert.deepEqual(
      events.map((ev) => [ev.type, idOf(ev), ev.type === 'start' ? ev.at : undefined]),
      [
        ['add', id, undefined],
        ['start', id, 100 + i],
        ['start', id, 200 + i],
      ],
      id,
    );
    assert.equal(index.take(id), undefined, `${id}: taken once only`);
  }
  const rest = [...index.remaining()];
  const left = ids.filter((id) => !takenIds.includes(id));
  assert.ok(left.length > 0);
  assert.deepEqual(rest.map(idOf), [...left, ...left, ...left], 'the events not taken, in journal order');
});

test('the journal index picks the best priority added from the fast and the general paths alike', () => {
  assert.equal(indexOf([add('a', 3), add('b"', 9), add('c', -1)]).bestAdded, 9);
  assert.equal(indexOf([add('a', 3), add('ü', 11), start('a', 5)]).bestAdded, 11);
  assert.equal(indexOf([start('a', 5)]).bestAdded, Number.NEGATIVE_INFINITY);
});
