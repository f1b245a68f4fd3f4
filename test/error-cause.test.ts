import { strict as assert } from 'node:assert';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { TaskFailedError, createCeleriac, type SerializedError } from '../src/index.js';
import { MAX_CAUSE_DEPTH, serializeError } from '../src/serialize-error.js';
import { celeriac, ensureBuilt, explain, json } from './cli-helpers.js';
import { fixture, openApp, tempDir } from './helpers.js';

/** A loopback port that nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

const failure = async (p: Promise<unknown>): Promise<TaskFailedError> => {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof TaskFailedError, `expected TaskFailedError, got ${String(err)}`);
    return err;
  }
  assert.fail('the job succeeded');
};

before(() => ensureBuilt());

const chain = (e: SerializedError | undefined): SerializedError[] => (e ? [e, ...chain(e.cause)] : []);

test('the cause chain of a failure is kept: in TaskFailedError, the stored job, after a restart, and in `celeriac show`', async (t) => {
  const dir = join(await tempDir(t), 'data');
  const port = await closedPort();
  const app = await openApp(t, { dir, tasks: [fixture('errors')], concurrency: 1 });
  await app.start();
  const h = await app.send('errors.fetchClosed', [port]);
  const err = await failure(h.result({ timeout: 20 }));
  assert.equal(err.remote.name, 'TypeError');
  assert.equal(err.remote.message, 'fetch failed');
  const cause = err.remote.cause;
  assert.ok(cause, 'the remote error has its cause');
  assert.equal(cause.code, 'ECONNREFUSED');
  assert.match(cause.message, new RegExp(`ECONNREFUSED 127\\.0\\.0\\.1:${port}`));
  assert.match(cause.stack ?? '', /ECONNREFUSED/);
  assert.match(err.message, /failed: TypeError: fetch failed \(caused by Error \[ECONNREFUSED\]: connect ECONNREFUSED/);
  assert.match(err.stack ?? '', /Caused by: Error: connect ECONNREFUSED/);
  assert.deepEqual((await h.info())?.error, err.remote, 'the stored error is the one result() reports');
  await app.close();

  const again = await createCeleriac({ dir, tasks: [fixture('errors')], logger: false, concurrency: 1 });
  const stored = (await again.get(h.id))?.error;
  await again.close();
  assert.equal(stored?.cause?.code, 'ECONNREFUSED', 'the cause survives the journal');

  const [show, showJson] = await Promise.all([
    celeriac(t, dir, ['show', h.id, '--dir', dir]),
    celeriac(t, dir, ['show', h.id, '--dir', dir, '--json']),
  ]);
  assert.equal(show.code, 0, explain(show));
  assert.match(show.stdout, /^caused by +Error \[ECONNREFUSED\]: connect ECONNREFUSED/m, explain(show));
  assert.match(show.stdout, /^Caused by: Error: connect ECONNREFUSED/m, explain(show, 'the cause stack follows the stack'));
  assert.equal(showJson.code, 0, explain(showJson));
  assert.equal(json<{ error: SerializedError }>(showJson).error.cause?.code, 'ECONNREFUSED');
});

test('a cause chain is cut at its depth limit and a cyclic one ends', () => {
  let deep = new Error('cause #20');
  for (let i = 19; i >= 0; i--) deep = new Error(`cause #${i}`, { cause: deep });
  const links = chain(serializeError(deep));
  assert.equal(links.length, MAX_CAUSE_DEPTH + 1);
  assert.deepEqual(
    links.map((l) => l.message),
    Array.from({ length: MAX_CAUSE_DEPTH + 1 }, (_, i) => `cause #${i}`),
  );

  const a = new Error('a');
  const b = new Error('b', { cause: a });
  (a as { cause?: unknown }).cause = b;
  assert.deepEqual(
    chain(serializeError(a)).map((l) => l.message),
    ['a', 'b'],
  );
  assert.deepEqual(
    chain(serializeError(new Error('x', { cause: 'plain text' }))).map((l) => l.message),
    ['x', 'the cause is a non-Error value: "plain text"'],
  );
});

test('serialising any thrown value never throws: getters that throw, revoked and trapping Proxies', () => {
  const badMessage = new Error('never seen');
  Object.defineProperty(badMessage, 'message', {
    get() {
      throw new Error('boom');
    },
  });
  assert.deepEqual(
    { ...serializeError(badMessage), stack: undefined },
    { name: 'Error', message: '(its message could not be read: Error: boom)', stack: undefined },
  );
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  assert.equal(serializeError(proxy).name, 'NonErrorThrown');
  const trap = () => {
    throw new Error('trap');
  };
  const trapping = new Proxy(new Error('t'), { get: trap, getPrototypeOf: trap, has: trap, ownKeys: trap });
  assert.equal(typeof serializeError(trapping).message, 'string');
  const evilName = Object.assign(new Error('m'), { name: { toString: trap } });
  assert.equal(serializeError(evilName).name, 'Error');
  assert.match(serializeError(Object.create(null)).message, /non-Error value/);
});

test('a task throwing an unreadable value fails its own job only; the worker goes on running others', async (t) => {
  const lost: string[] = [];
  const app = await openApp(t, {
    tasks: [fixture('errors')],
    concurrency: 1,
    logger: { info() {}, warn: (m) => lost.push(m), error: (m) => lost.push(m) },
  });
  await app.start();
  const names = ['errors.badMessage', 'errors.revokedProxy', 'errors.trappedProxy', 'errors.cyclicCause'];
  const bad = await Promise.all(names.map((n) => app.send(n, [])));
  const good = await app.send('errors.ok', [7]);
  const errors = await Promise.all(bad.map((h) => failure(h.result({ timeout: 20 }))));
  assert.equal(await good.result({ timeout: 20 }), 7);
  for (const [i, h] of bad.entries()) {
    const info = (await h.info())!;
    assert.equal(info.state, 'failed', names[i]);
    assert.equal(info.recovered, false, `${names[i]} never ran in a worker that died`);
    assert.equal(info.attempts, 1, `${names[i]} ran once: a hostile value matches no autoretryFor entry`);
  }
  assert.equal(errors[0]!.remote.message, '(its message could not be read: Error: the message getter exploded)');
  assert.match(errors[1]!.remote.message, /non-Error value/);
  assert.deepEqual(
    chain(errors[3]!.remote).map((e) => e.message),
    ['a', 'b'],
  );
  assert.deepEqual(lost, [], 'no worker thread was lost');
});
