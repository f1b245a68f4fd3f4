// One unit for durations across the API: a number is seconds, a string names its unit
// ("200ms", "20s"). result({ timeout }) of the app, a workflow and the client; send's
// countdown and expires; retry's countdown; the broker URL's stall parameters.
import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseBrokerUrl } from '../src/backend/bullmq/broker-url.js';
import { resolveTaskOptions } from '../src/task.js';
import { chain, createClient, RetryRequest, signature, type CeleriacError } from '../src/index.js';
import { fixture, openApp, tempDir } from './helpers.js';

const code = (c: string, message?: RegExp) => (err: CeleriacError) => {
  assert.equal(err.code, c, err.message);
  if (message) assert.match(err.message, message);
  return true;
};

// Each test is bounded: a timeout read in the wrong unit (200 s for 0.2) fails it instead of hanging.
const BOUNDED = { timeout: 60_000 };

test(
  'result({ timeout }) is seconds or a string with its unit: a job not done by then rejects with RESULT_TIMEOUT; one done in time resolves',
  BOUNDED,
  async (t) => {
    const app = await openApp(t);
    await app.start();
    const never = await app.send('demo.echo', ['later'], { countdown: 3600 });
    const began = Date.now();
    await assert.rejects(never.result({ timeout: 0.2 }), code('RESULT_TIMEOUT'));
    // No sooner than asked (a lower bound only: how much later depends on the machine).
    assert.ok(Date.now() - began >= 190, `gave up after ${Date.now() - began} ms, not 0.2 s`);
    await assert.rejects(never.result({ timeout: '200ms' }), code('RESULT_TIMEOUT'));
    assert.equal((await never.info())?.state, 'pending', 'giving up waiting leaves the job alone');
    // Runs 300 ms from now: 20 read as milliseconds would have given up before it ran.
    const soon = await app.send('demo.echo', ['soon'], { countdown: 0.3 });
    assert.equal(await soon.result({ timeout: 20 }), 'soon');
    const soonToo = await app.send('demo.echo', ['soon too'], { countdown: '300ms' });
    assert.equal(await app.result(soonToo.id, { timeout: '20s' }), 'soon too');
  },
);

test('result() refuses a bad timeout with INVALID_ARGS naming it, and an unknown option', async (t) => {
  const app = await openApp(t);
  const h = await app.send('demo.echo', ['x'], { countdown: 3600 });
  await assert.rejects(
    h.result({ timeout: -1 }),
    code('INVALID_ARGS', /^result\(\): timeout must be a finite number of seconds ≥ 0, got -1/),
  );
  await assert.rejects(h.result({ timeout: 'soon' }), code('INVALID_ARGS', /^result\(\): timeout must be seconds .*"soon"/));
  await assert.rejects(
    h.result({ timeout: '30' }),
    code('INVALID_ARGS', /timeout "30" has no unit: give seconds as a number \(30\) or a string with its unit \("30s"/),
  );
  await assert.rejects(h.result({ timout: 5 } as never), code('INVALID_ARGS', /unknown option "timout" \(known options: timeout\)/));
  await assert.rejects(app.result(h.id, { timeout: Number.NaN }), code('INVALID_ARGS', /timeout must be a finite number of seconds/));
  // Longer than a timer can wait (Node would fire it after 1 ms): refused, not given up at once.
  await assert.rejects(
    h.result({ timeout: 3_600_000 }),
    code(
      'INVALID_ARGS',
      /^result\(\): timeout must be at most 2147483 seconds \(24\.8 days, the longest a timer waits\), got 3600000; leave it out/,
    ),
  );
  await assert.rejects(h.result({ timeout: '30d' }), code('INVALID_ARGS', /timeout must be at most 2147483 seconds .*got "30d"/));
  assert.equal((await app.get(h.id))?.state, 'pending', 'the job goes on');
});

test("a task's timeout is at most what a timer can wait", () => {
  assert.equal(resolveTaskOptions({ timeout: '24d' }, 't').timeoutMs, 24 * 86_400_000);
  assert.throws(
    () => resolveTaskOptions({ timeout: '30d' }, 't'),
    code('INVALID_TASK_OPTIONS', /timeout must be at most 2147483 seconds \(24\.8 days/),
  );
});

test("a workflow's result({ timeout }) is seconds, and a bad one is refused", BOUNDED, async (t) => {
  const app = await openApp(t, { tasks: [fixture('workflows', 'canvas.ts')] });
  const h = await app.sendWorkflow(chain(signature('wf.add', [1, 2]), signature('wf.double', [])));
  await assert.rejects(h.result({ timeout: 0.2 }), code('RESULT_TIMEOUT'), 'nothing runs before start()');
  await assert.rejects(h.result({ timeout: '2 fortnights' }), code('INVALID_ARGS', /^workflow result\(\): timeout must be seconds/));
  // Started 300 ms from now: 20 read as milliseconds would have given up first.
  setTimeout(() => void app.start(), 300);
  assert.equal(await h.result({ timeout: 20 }), 6);
});

test("the client's result({ timeout }) is seconds over the socket and without a worker, and a bad one is refused", BOUNDED, async (t) => {
  const dir = join(await tempDir(t), 'data');
  const offline = await createClient({ dir });
  t.after(() => offline.close());
  const queued = await offline.send('demo.echo', ['queued']);
  await assert.rejects(offline.result(queued.id, { timeout: '200ms' }), code('RESULT_TIMEOUT', /no worker is running/));
  await assert.rejects(queued.result({ timeout: 'soon' }), code('INVALID_ARGS', /^client\.result\(\): timeout must be seconds .*"soon"/));
  await assert.rejects(
    queued.result({ timeout: -5 }),
    code('INVALID_ARGS', /^client\.result\(\): timeout must be a finite number of seconds/),
  );

  const app = await openApp(t, { dir });
  await app.start();
  const client = await createClient({ dir });
  t.after(() => client.close());
  assert.equal(await client.connected(), true);
  const never = await client.send('demo.echo', ['later'], { countdown: 3600 });
  // The worker gets the wait in ms on the wire: read as seconds there, this would hang.
  await assert.rejects(never.result({ timeout: 0.2 }), code('RESULT_TIMEOUT'));
  const soon = await client.send('demo.echo', ['soon'], { countdown: 0.3 });
  assert.equal(await soon.result({ timeout: 20 }), 'soon');
  assert.equal(await client.result(queued.id, { timeout: '20s' }), 'queued');
});

test('send takes countdown and expires as seconds or strings with a unit; a string without a unit is refused', async (t) => {
  const app = await openApp(t);
  const a = await app.send('demo.echo', ['a'], { countdown: '1.5s', expires: '1h' });
  const info = (await a.info())!;
  assert.equal(info.runAt!.getTime() - info.createdAt.getTime(), 1500);
  assert.equal(info.expiresAt!.getTime() - info.createdAt.getTime(), 3_600_000);
  const b = (await (await app.send('demo.echo', ['b'], { countdown: 2, expires: 60 })).info())!;
  assert.equal(b.runAt!.getTime() - b.createdAt.getTime(), 2000);
  assert.equal(b.expiresAt!.getTime() - b.createdAt.getTime(), 60_000);
  const at = new Date(Date.now() + 3_600_000).toISOString();
  assert.equal((await (await app.send('demo.echo', ['c'], { expires: at })).info())!.expiresAt!.toISOString(), at, 'an ISO time is a time');
  await assert.rejects(app.send('demo.echo', ['x'], { countdown: '30' }), code('INVALID_SEND_OPTIONS', /countdown "30" has no unit/));
  await assert.rejects(app.send('demo.echo', ['x'], { countdown: 'soon' }), code('INVALID_SEND_OPTIONS', /countdown must be seconds/));
});

test('retry({ countdown }) and retryBackoff take strings with a unit', () => {
  assert.equal(new RetryRequest('t', { countdown: '250ms' }).countdownMs, 250);
  assert.equal(new RetryRequest('t', { countdown: 3 }).countdownMs, 3000);
  assert.throws(() => new RetryRequest('t', { countdown: '3' }), /t\.retry\(\): countdown "3" has no unit/);
  assert.equal(resolveTaskOptions({ retryBackoff: '500ms' }, 't').backoffFactorMs, 500);
  assert.equal(resolveTaskOptions({ retryBackoff: 2 }, 't').backoffFactorMs, 2000);
  assert.throws(
    () => resolveTaskOptions({ retryBackoff: '0s' }, 't'),
    code('INVALID_TASK_OPTIONS', /retryBackoff must be true\/false or a factor > 0/),
  );
});

test("the broker URL's lockDuration and stalledInterval are seconds or strings with a unit, at least 100 ms", () => {
  assert.deepEqual(parseBrokerUrl('redis://h:6379?lockDuration=2&stalledInterval=500ms', 'test').stall, {
    lockDuration: 2000,
    stalledInterval: 500,
  });
  assert.equal(parseBrokerUrl('redis://h?lockDuration=1.5m', 'test').url, 'redis://h', 'the parameters are taken out of the URL');
  assert.throws(
    () => parseBrokerUrl('redis://h?lockDuration=50ms', 'test'),
    code('INVALID_CONFIG', /lockDuration must be at least 100 ms/),
  );
  assert.throws(() => parseBrokerUrl('redis://h?stalledInterval=soon', 'test'), code('INVALID_CONFIG', /stalledInterval must be seconds/));
});
