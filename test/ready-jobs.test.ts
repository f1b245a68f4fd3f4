// The ready jobs (src/scheduler/ready.ts) come out best first: higher priority, then the
// order they were added in, whatever the mix of adds and takes.
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import type { JobRecord } from '../src/jobs.js';
import { ReadyJobs } from '../src/scheduler/ready.js';

const job = (id: number, priority: number) => ({ id: String(id), priority }) as JobRecord;

test('ready jobs come out by priority, first come first within one, across interleaved adds and takes', () => {
  const ready = new ReadyJobs();
  // A reference: every job added so far and not taken, with its arrival number.
  let waiting: { job: JobRecord; n: number }[] = [];
  let seed = 7;
  const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
  let n = 0;
  for (let round = 0; round < 200; round++) {
    const adds = Math.floor(random() * 40);
    for (let i = 0; i < adds; i++) {
      // Mostly priority 0, as in practice, with a few others (negative ones too).
      const priority = random() < 0.7 ? 0 : Math.floor(random() * 7) - 3;
      const j = job(n, priority);
      ready.add(j);
      waiting.push({ job: j, n: n++ });
    }
    const takes = Math.floor(random() * 45);
    for (let i = 0; i < takes; i++) {
      waiting.sort((a, b) => b.job.priority - a.job.priority || a.n - b.n);
      const want = waiting.shift()?.job;
      assert.equal(ready.take(), want, `round ${round}, take ${i}`);
      assert.equal(ready.size, waiting.length);
    }
  }
  waiting = waiting.sort((a, b) => b.job.priority - a.job.priority || a.n - b.n);
  for (const w of waiting) assert.equal(ready.take(), w.job);
  assert.equal(ready.take(), undefined);
  assert.equal(ready.size, 0);
});

test('a long run of one priority keeps its order past the point where the consumed front is dropped', () => {
  const ready = new ReadyJobs();
  const jobs = Array.from({ length: 5_000 }, (_, i) => job(i, 0));
  for (const j of jobs.slice(0, 3_000)) ready.add(j);
  const out: JobRecord[] = [];
  for (let i = 0; i < 2_500; i++) out.push(ready.take()!);
  for (const j of jobs.slice(3_000)) ready.add(j);
  ready.add(job(-1, 1)); // a higher priority arriving late goes first
  assert.equal(ready.take()!.id, '-1');
  for (let j = ready.take(); j; j = ready.take()) out.push(j);
  assert.deepEqual(out, jobs);
});
