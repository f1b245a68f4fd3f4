// Bad input through the API that used to get a raw error, or to be changed silently:
// each case gets a CeleriacError that names what was wrong, and nothing is written.
import { strict as assert } from 'node:assert';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { createCeleriac, type CeleriacError } from '../src/index.js';
import { loadConfig, validateConfig } from '../src/config.js';
import { submitToInbox } from '../src/inbox.js';
import { fixture, openApp, tempDir, waitFor } from './helpers.js';

const refused = (code: string, message: RegExp) => (err: CeleriacError) => {
  assert.equal(err.name, 'CeleriacError', `${err.name}: ${err.message}`);
  assert.equal(err.code, code, err.message);
  assert.match(err.message, message);
  return true;
};

async function journalBytes(dir: string): Promise<number> {
  let n = 0;
  for (const f of (await readdir(dir)).filter((f) => f.startsWith('journal-')))
    n += (await readFile(join(dir, f))).toString().replace(/\0+$/, '').length;
  return n;
}

test('arguments nested thousands deep are refused with a clear error, not a RangeError', async (t) => {
  const dir = join(await tempDir(t), 'data');
  const app = await openApp(t, { dir });
  const before = await journalBytes(dir);
  for (const depth of [5_000, 100_000]) {
    let deep: unknown = 1;
    for (let i = 0; i < depth; i++) deep = i % 2 ? [deep] : { d: deep };
    await assert.rejects(app.send('demo.echo', [deep]), refused('INVALID_ARGS', /nests deeper than 1000 levels/));
  }
  assert.equal(await journalBytes(dir), before, 'nothing was written');
});

test('values JSON would change silently are refused: -0, symbol keys, named properties and holes in arrays', async (t) => {
  const app = await openApp(t);
  await assert.rejects(app.send('demo.echo', [-0]), refused('INVALID_ARGS', /args\[0\] is -0, which JSON turns into 0/));
  await assert.rejects(app.send('demo.echo', [{ n: -0 }]), refused('INVALID_ARGS', /args\[0\]\.n is -0/));
  await assert.rejects(
    app.send('demo.echo', [{ [Symbol('tag')]: 1 }]),
    refused('INVALID_ARGS', /args\[0\] has a symbol key \(Symbol\(tag\)\)/),
  );
  const named = Object.assign([1, 2], { extra: 'lost' });
  await assert.rejects(app.send('demo.echo', [named]), refused('INVALID_ARGS', /args\[0\] is an array with a named property "extra"/));
  // eslint-disable-next-line no-sparse-arrays
  await assert.rejects(app.send('demo.echo', [[1, , 3]]), refused('INVALID_ARGS', /args\[0\] has holes/));
  const job = await app.send('demo.echo', [{ zero: 0, list: [0, 1] }]);
  assert.deepEqual((await app.get(job.id))?.args, [{ zero: 0, list: [0, 1] }], 'plain values still pass');
});

test('countdown, eta and expires beyond the range of a Date are refused', async (t) => {
  const dir = join(await tempDir(t), 'data');
  const app = await openApp(t, { dir });
  const before = await journalBytes(dir);
  await assert.rejects(
    app.send('demo.echo', ['x'], { countdown: 1e300 }),
    refused('INVALID_SEND_OPTIONS', /countdown must be at most 315576000000 seconds/),
  );
  await assert.rejects(app.send('demo.echo', ['x'], { eta: 1e300 }), refused('INVALID_SEND_OPTIONS', /eta is out of the range of a Date/));
  await assert.rejects(
    app.send('demo.echo', ['x'], { expires: 1e300 }),
    refused('INVALID_SEND_OPTIONS', /expires \(seconds from now\) must be at most/),
  );
  await assert.rejects(app.send('demo.echo', ['x'], { countdown: '1e300y' as never }), refused('INVALID_SEND_OPTIONS', /countdown/));
  assert.equal(await journalBytes(dir), before, 'nothing was written');
  const later = await app.send('demo.echo', ['x'], { countdown: 86_400 * 365 * 100 });
  assert.ok((await app.get(later.id))!.runAt!.getTime() > Date.now(), 'a countdown of a century is still fine');
});

test('createCeleriac refuses a logger that is not one, and a concurrency no machine can start', async (t) => {
  const dir = join(await tempDir(t), 'data');
  const base = { dir, tasks: [fixture('basic')], concurrency: 1 };
  for (const logger of [5, 'console', null, { info() {} }]) {
    await assert.rejects(
      createCeleriac({ ...base, logger: logger as never }),
      refused('INVALID_CONFIG', /"logger" must be false or an object with info, warn and error methods/),
    );
  }
  await assert.rejects(
    createCeleriac({ ...base, concurrency: 100_000 }),
    refused('INVALID_CONFIG', /"concurrency" must be at most 256, got 100000/),
  );
  assert.throws(
    () => validateConfig({ concurrency: 100_000 }, 'celeriac.config.json'),
    refused('INVALID_CONFIG', /celeriac\.config\.json: "concurrency" must be at most 256, got 100000/),
  );
  await assert.rejects(readdir(dir), /ENOENT/, 'nothing was created');
});

test('a data dir that is a file gets a clear error', async (t) => {
  const file = join(await tempDir(t), 'not-a-dir');
  await writeFile(file, 'something else');
  await assert.rejects(
    createCeleriac({ dir: file, tasks: [fixture('basic')], logger: false, concurrency: 1 }),
    refused('INVALID_CONFIG', /the data dir .*not-a-dir is a file, not a directory/),
  );
  await assert.rejects(
    createCeleriac({ dir: join(file, 'data'), tasks: [fixture('basic')], logger: false, concurrency: 1 }),
    refused('INVALID_CONFIG', /a part of its path is a file/),
  );
  assert.equal(await readFile(file, 'utf8'), 'something else', 'the file is untouched');
});

test('a "__proto__" key in a config is refused, in JSON and in a module', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'celeriac.config.json'), '{ "tasks": "./tasks", "__proto__": { "concurrency": 0 } }');
  await assert.rejects(loadConfig({ cwd: dir }), refused('INVALID_CONFIG', /celeriac\.config\.json: the key "__proto__" is not allowed/));
  // In a module, `__proto__:` sets the prototype: the config is then not a plain object.
  assert.throws(
    () => validateConfig({ __proto__: { tasks: '/elsewhere' } }, 'celeriac.config.mjs'),
    refused('INVALID_CONFIG', /celeriac\.config\.mjs: the config must be a plain object/),
  );
  assert.throws(() => validateConfig({ tasks: './t', toString: 'x' }, 'c.json'), refused('INVALID_CONFIG', /unknown key "toString"/));
});

test('an inbox cancel message with one bad id cancels nothing and is rejected with the reason', async (t) => {
  const dir = join(await tempDir(t), 'data');
  const app = await openApp(t, { dir });
  const a = await app.send('demo.echo', ['a'], { countdown: 3600 });
  const b = await app.send('demo.echo', ['b'], { countdown: 3600 });
  await submitToInbox(dir, { v: 1, kind: 'cancel', ids: [a.id, 42 as never, b.id] });
  const reasonFile = await waitFor(
    async () => (await readdir(join(dir, 'inbox-rejected')).catch(() => [] as string[])).find((f) => f.endsWith('.reason.txt')),
    10_000,
    'the message to be rejected',
  );
  assert.equal((await app.get(a.id))?.state, 'pending', 'the id before the bad one was not cancelled');
  assert.equal((await app.get(b.id))?.state, 'pending');
  const reason = await readFile(join(dir, 'inbox-rejected', reasonFile), 'utf8');
  assert.match(reason, /inbox cancel message: ids\[1\] is not a job id \(42\); no job of this message was cancelled/);
});
