// Marks (small durable values by key, for periodic schedules) on a broker: written before
// writeMark resolves, read back by a backend opened later, kept apart per queue.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { openBullMQBackend } from '../src/backend/bullmq/backend.js';
import { parseBrokerUrl } from '../src/backend/bullmq/broker-url.js';
import type { BackendContext } from '../src/backend/types.js';
import { CeleriacError } from '../src/errors.js';
import { testPool } from './helpers.js';
import { startTestServer, type BrokerKind } from './servers.js';

function context(): BackendContext {
  const quiet = { info() {}, warn() {}, error() {} };
  return {
    pool: testPool(),
    task: () => undefined,
    unknownTask: (name) => new CeleriacError('UNKNOWN_TASK', name),
    log: quiet,
    capacity: 1,
    prefetch: 1,
    resultTtlMs: 60_000,
    timeoutGraceMs: 100,
    emit() {},
    wants: () => false,
    fail() {},
    assertOpen() {},
  };
}

for (const kind of ['redis', 'postgres'] as BrokerKind[]) {
  const server = await startTestServer(kind, after, (reason) => test(`${kind} server`, (t) => t.skip(reason)));
  test(`${kind}: a mark written is read back after a reopen, per queue`, async (t) => {
    if (!server) return t.skip(`no ${kind} here`);
    const open = (queue: string) => openBullMQBackend(context(), { broker: parseBrokerUrl(server.url, 'test'), queue, where: 'test' });
    const first = await open('marks');
    assert.equal(await first.readMark('schedule:nightly'), undefined);
    await first.writeMark('schedule:nightly', '2026-11-29T00:00:00.000Z');
    await first.writeMark('schedule:nightly', '2026-11-30T00:00:00.000Z');
    await first.close(() => Date.now());
    const again = await open('marks');
    const other = await open('other');
    try {
      assert.equal(await again.readMark('schedule:nightly'), '2026-11-30T00:00:00.000Z');
      assert.equal(await other.readMark('schedule:nightly'), undefined, 'a mark leaked into another queue');
    } finally {
      await again.close(() => Date.now());
      await other.close(() => Date.now());
    }
  });
}
