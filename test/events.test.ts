import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import type { CeleriacEvent } from '../src/index.js';
import { fixture, openApp, waitFor } from './helpers.js';

const record = (app: Awaited<ReturnType<typeof openApp>>, types: CeleriacEvent['type'][]) => {
  const seen: CeleriacEvent[] = [];
  for (const type of types) app.on(type, (e) => seen.push(e));
  return seen;
};

test('events: received, started, succeeded and failed, each after it is durable, in order', async (t) => {
  const app = await openApp(t, { tasks: [fixture('basic')] });
  const seen = record(app, ['received', 'started', 'succeeded', 'failed']);
  await app.start();
  const ok = await app.send('math.add', [2, 3]);
  assert.equal(await ok.result({ timeout: 10 }), 5);
  const bad = await app.send('demo.boom', ['no']);
  await assert.rejects(bad.result({ timeout: 10 }));
  await waitFor(() => seen.filter((e) => e.id === bad.id).length === 3, 10_000, "the failed job's events");
  const forOk = seen.filter((e) => e.id === ok.id);
  assert.deepEqual(
    forOk.map((e) => e.type),
    ['received', 'started', 'succeeded'],
  );
  assert.equal(forOk[2]!.result, 5);
  assert.equal(forOk[2]!.task, 'math.add');
  assert.equal(forOk[1]!.attempt, 1);
  const failed = seen.find((e) => e.id === bad.id && e.type === 'failed')!;
  assert.equal(failed.error?.name, 'TypeError');
  assert.equal(failed.error?.message, 'no');
});

test('events: retrying carries the countdown and the error; cancelled and expired are told', async (t) => {
  const app = await openApp(t, { tasks: [fixture('retry'), fixture('basic')] });
  const seen = record(app, ['retrying', 'cancelled', 'expired', 'succeeded']);
  // Sent before the workers start, it expires before it can run.
  const gone = await app.send('demo.echo', ['gone'], { expires: 0.05 });
  await new Promise((r) => setTimeout(r, 120));
  await app.start();
  const flaky = await app.send('retry.flaky', [1]);
  await flaky.result({ timeout: 10 });
  const retry = seen.find((e) => e.type === 'retrying' && e.id === flaky.id)!;
  assert.ok(retry, 'a retrying event');
  assert.match(retry.error!.message, /transient failure #1/);
  assert.ok(retry.runAt instanceof Date);
  const later = await app.send('demo.echo', ['later'], { countdown: 3600 });
  assert.equal(await app.cancel(later.id), true);
  await assert.rejects(gone.result({ timeout: 10 }), /expired/);
  assert.ok(seen.some((e) => e.type === 'cancelled' && e.id === later.id));
  assert.ok(seen.some((e) => e.type === 'expired' && e.id === gone.id));
});

test('events: a listener that throws is logged and neither the job nor the next listener is affected', async (t) => {
  const errors: string[] = [];
  const app = await openApp(t, { tasks: [fixture('basic')], logger: { info() {}, warn() {}, error: (m: string) => errors.push(m) } });
  const after: string[] = [];
  app.on('succeeded', () => {
    throw new Error('listener bug');
  });
  app.on('succeeded', (e) => after.push(e.id));
  await app.start();
  const h = await app.send('demo.echo', ['x']);
  assert.equal(await h.result({ timeout: 10 }), 'x');
  await waitFor(() => after.includes(h.id), 5000, 'the second listener');
  assert.ok(
    errors.some((m) => /event listener for "succeeded" threw.*listener bug/s.test(m)),
    errors.join('\n'),
  );
  const again = await app.send('demo.echo', ['y']);
  assert.equal(await again.result({ timeout: 10 }), 'y');
});

test('events: off() stops a listener; an unknown event name is refused, naming the known ones', async (t) => {
  const app = await openApp(t, { tasks: [fixture('basic')] });
  const seen: string[] = [];
  const listener = (e: CeleriacEvent) => seen.push(e.id);
  app.on('received', listener);
  const first = await app.send('demo.echo', ['a']);
  app.off('received', listener);
  await app.send('demo.echo', ['b']);
  assert.deepEqual(seen, [first.id]);
  assert.throws(() => app.on('finished' as never, listener), /unknown event "finished" \(events: received, started/);
});
