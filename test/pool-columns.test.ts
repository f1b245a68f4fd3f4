// The host and its workers post batches of jobs and outcomes in columns (src/pool/columns.ts):
// what the other end rebuilds after a structured clone is what was packed, field for field.
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { packJobs, packOutcomes, unpackJobs, unpackOutcomes } from '../src/pool/columns.js';
import type { Outcome, WireJob } from '../src/pool/protocol.js';

test('jobs cross in columns and come back whole: per-call overrides, slot and recovered only where set', () => {
  const jobs: WireJob[] = [
    { seq: 7, id: 'a', task: 't.one', args: '[1]', attempt: 1, retries: 0, recovered: false },
    { seq: 8, id: 'b', task: 't.two', args: '[{"x":"é"}]', attempt: 3, retries: 2, recovered: true, maxRetries: 5, retryDelayMs: 250 },
    { seq: 9, id: 'c', task: 't.one', args: '[]', attempt: 2, retries: 1, recovered: false, slot: 'backfill' },
    { seq: 2_000_000_000, id: 'd', task: 't.one', args: '[null]', attempt: 1, retries: 0, recovered: false, maxRetries: 0 },
  ];
  assert.deepStrictEqual(unpackJobs(structuredClone(packJobs(jobs))), jobs);
  const plain = packJobs([jobs[0]!]);
  assert.equal(plain.extras, undefined, 'no extras travel when no job has any');
  assert.deepStrictEqual(unpackJobs(structuredClone(packJobs([]))), []);
});

test('outcomes cross in columns in their order: successes with and without a result, failures, retries and requeues', () => {
  const outcomes: Outcome[] = [
    { seq: 1, kind: 'succeeded', result: '"ok"', runMs: 0.25, begunAt: 1_700_000_000_123.5 },
    { seq: 2, kind: 'succeeded', runMs: 1, begunAt: 1_700_000_000_124 },
    { seq: 3, kind: 'failed', error: { name: 'Error', message: 'boom' }, runMs: 2, begunAt: 1_700_000_000_125 },
    { seq: 4, kind: 'retry', error: { name: 'Error', message: 'again' }, runAt: 1_700_000_009_000, args: '[2]', runMs: 3 },
    { seq: 5, kind: 'failed', error: { name: 'AbortError', message: 'aborted before it began (cancelled)' } },
    { seq: 6, kind: 'requeue', revert: true },
    { seq: 7, kind: 'succeeded', result: '[1,2]' },
  ];
  const back = unpackOutcomes(structuredClone(packOutcomes(outcomes)));
  // A success has every field (undefined where absent): compare what a reader sees.
  assert.equal(back.length, outcomes.length);
  for (let i = 0; i < outcomes.length; i++) {
    const want = outcomes[i]!;
    const got = back[i]!;
    for (const key of ['seq', 'kind', 'result', 'error', 'runAt', 'args', 'revert', 'runMs', 'begunAt'] as const)
      assert.deepStrictEqual((got as Record<string, unknown>)[key], (want as Record<string, unknown>)[key], `outcome ${i}: ${key}`);
  }
  const allOk = packOutcomes([outcomes[0]!, outcomes[1]!]);
  assert.equal(allOk.others, undefined, 'no per-outcome objects travel when every job succeeded');
});
