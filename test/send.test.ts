import { strict as assert } from 'node:assert';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { CeleriacError, createClient } from '../src/index.js';
import { openApp, tempDir } from './helpers.js';

async function journalText(dir: string): Promise<string> {
  const files = (await readdir(dir)).filter((f) => f.startsWith('journal-')).sort();
  let text = '';
  for (const f of files) text += await readFile(join(dir, f), 'utf8');
  return text;
}

test('send resolves with a handle whose job is already on disk, with a checksum per record', async (t) => {
  const dir = join(await tempDir(t), 'data');
  const app = await openApp(t, { dir });
  const job = await app.send('demo.echo', ['Hello World'], { id: 'seed-1' });
  assert.equal(job.id, 'seed-1');
  assert.equal(job.created, true);
  const text = await journalText(dir);
  const line = text.split('\n').find((l) => l.includes('"seed-1"'));
  assert.ok(line, 'the add record is in the journal when send() resolves');
  assert.match(line, /^[0-9a-f]{8} \{"o":"a","i":"seed-1","n":"demo.echo",.*"a":\["Hello World"\]\}$/);
  const { crc32 } = await import('node:zlib');
  assert.equal(Number.parseInt(line.slice(0, 8), 16), crc32(line.slice(9)));
  assert.equal((await app.get('seed-1'))?.state, 'pending');
});

test('concurrent sends share flushes (group commit)', async (t) => {
  const app = await openApp(t);
  const store = (app as unknown as { backend: { store: { commit: (...a: unknown[]) => Promise<void> } } }).backend.store;
  // Count the real writes by watching the file handle the store writes with.
  const fh = (store as unknown as { fh: { write: (...a: unknown[]) => Promise<unknown> } }).fh;
  let writes = 0;
  const original = fh.write.bind(fh);
  fh.write = (...a: unknown[]) => {
    writes++;
    return original(...a);
  };
  const handles = await Promise.all(Array.from({ length: 200 }, (_, i) => app.send('math.add', [i, 1])));
  assert.equal(handles.length, 200);
  assert.ok(writes < 50, `200 concurrent sends took ${writes} writes; expected them to share flushes`);
  assert.ok(writes >= 1);
});

test('a rejected send writes nothing', async (t) => {
  const dir = join(await tempDir(t), 'data');
  const app = await openApp(t, { dir });
  const before = await journalText(dir);
  const bad: Array<[string, unknown[], object?]> = [
    ['demo.ecko', ['x']],
    ['demo.echo', [undefined]],
    ['demo.echo', [() => 1]],
    ['demo.echo', [10n]],
    ['demo.echo', [new Date()]],
    ['demo.echo', ['x'], { countdown: -1 }],
    ['demo.echo', ['x'], { eta: 'not a date' }],
    ['demo.echo', ['x'], { expires: new Date(Date.now() - 1000) }],
    ['demo.echo', ['x'], { countdown: 10, expires: 5 }],
    ['demo.echo', ['x'], { colour: 'red' }],
    ['demo.echo', ['x'], { id: '' }],
  ];
  for (const [name, args, opts] of bad) {
    await assert.rejects(app.send(name, args, opts as never), CeleriacError, `${name} ${JSON.stringify(opts)}`);
  }
  await assert.rejects(
    app.sendMany('math.add', [
      [1, 2],
      [3, undefined],
    ]),
    /argsList\[1\]\[1\] is undefined/,
  );
  assert.equal(await journalText(dir), before);
});

test('sendMany makes every job durable in one flush and returns a handle per job', async (t) => {
  const dir = join(await tempDir(t), 'data');
  const app = await openApp(t, { dir });
  // Every buffer the store writes to its journal (one write per flush: O_DSYNC, durable on return).
  const fh = (app as unknown as { backend: { store: { fh: { write: (buf: Buffer, ...rest: unknown[]) => Promise<unknown> } } } }).backend
    .store.fh;
  const writes: string[] = [];
  const original = fh.write.bind(fh);
  fh.write = (buf: Buffer, ...rest: unknown[]) => {
    writes.push(buf.toString('utf8'));
    return original(buf, ...rest);
  };
  const handles = await app.sendMany('math.add', [
    [1, 2],
    [3, 4],
    [5, 6],
  ]);
  assert.equal(handles.length, 3);
  assert.equal(writes.length, 1, `one flush carried the three jobs (writes: ${writes.length})`);
  const adds = writes[0]!.split('\n').filter((l) => l.includes('{"o":"a"'));
  assert.deepEqual(
    adds.map((l) => (JSON.parse(l.slice(9)) as { i: string }).i),
    handles.map((h) => h.id),
    'that write holds the add record of every job, in order',
  );
  const onDisk = await journalText(dir);
  for (const h of handles) assert.ok(onDisk.includes(`{"o":"a","i":"${h.id}"`), `job ${h.id} is in the journal when sendMany resolves`);
  await app.start();
  assert.deepEqual(await Promise.all(handles.map((h) => h.result())), [3, 7, 11]);
});

test('sending a known id again creates no second job', async (t) => {
  const app = await openApp(t);
  const [a, b] = await Promise.all([app.send('demo.echo', ['first'], { id: 'same' }), app.send('demo.echo', ['second'], { id: 'same' })]);
  assert.equal(a.created !== b.created, true, 'exactly one of two concurrent sends creates the job');
  const c = await app.send('demo.echo', ['third'], { id: 'same' });
  assert.equal(c.created, false);
  assert.deepEqual((await app.get('same'))?.args, ['first']);
  await app.start();
  assert.equal(await c.result(), 'first');
  assert.equal((await app.get('same'))?.attempts, 1);
});

test('sendMany gives each job options of its own, an id included, deduplicated per id as send() does', async (t) => {
  const dir = join(await tempDir(t), 'data');
  const app = await openApp(t, { dir });
  await app.send('demo.echo', ['old'], { id: 'k1' });
  const handles = await app.sendMany(
    'demo.echo',
    [{ args: ['a'], id: 'k1' }, { args: ['b'], id: 'k2', priority: 5 }, ['c'], { args: ['d'], id: 'k2' }],
    { priority: 1 },
  );
  assert.deepEqual(
    handles.map((h) => h.id).filter((id, i) => i !== 2),
    ['k1', 'k2', 'k2'],
  );
  assert.deepEqual(
    handles.map((h) => h.created),
    [false, true, true, false],
  );
  assert.deepEqual((await app.get('k1'))?.args, ['old'], 'a known id creates nothing');
  assert.deepEqual(
    [(await app.get('k2'))?.args, (await app.get('k2'))?.priority],
    [['b'], 5],
    'the first of an id twice in the list wins; its own options over the shared ones',
  );
  assert.equal((await handles[2]!.info())?.priority, 1, 'the shared options apply to the items that give none');

  const [one, many] = await Promise.all([
    app.send('demo.echo', ['x'], { id: 'k3' }),
    app.sendMany('demo.echo', [{ args: ['y'], id: 'k3' }]),
  ]);
  assert.equal(one.created !== many[0]!.created, true, 'a send and a sendMany racing on one id: exactly one creates it');
  assert.equal((await app.counts()).pending, 4);

  const before = await journalText(dir);
  await assert.rejects(
    app.sendMany('demo.echo', [['a'], { args: ['b'], colour: 1 }] as never),
    /sendMany\(demo\.echo\): argsList\[1\]: unknown option "colour"/,
  );
  await assert.rejects(app.sendMany('demo.echo', [['a'], { args: ['b'], id: '' }]), /argsList\[1\]: id must be a non-empty string/);
  await assert.rejects(app.sendMany('demo.echo', [['a'], { args: [undefined] }]), /argsList\[1\]\.args\[0\] is undefined/);
  // An item given as a bare argument array: the path is built only once something is found wrong in it, and still names it.
  await assert.rejects(
    app.sendMany('demo.echo', [['a'], ['b'], [{ at: { when: new Date(0) } }]]),
    /^CeleriacError: sendMany\(demo\.echo\): argsList\[2\]\[0\]\.at\.when is a Date: pass date\.toISOString\(\)/,
  );
  await assert.rejects(app.sendMany('demo.echo', [['a'], [-0]]), /sendMany\(demo\.echo\): argsList\[1\]\[0\] is -0/);
  await assert.rejects(
    app.sendMany('demo.echo', [['a'], ['b', 'c']]),
    /sendMany\(demo\.echo\): argsList\[1\]: demo\.echo\(message\) takes 1 argument, got 2/,
  );
  await assert.rejects(app.sendMany('demo.echo', [['a'], 'b' as never, ['c']]), /sendMany\(demo\.echo\): argsList\[1\] must be/);
  await assert.rejects(
    app.sendMany('demo.echo', [['a'], 'b'] as never),
    /argsList\[1\] must be an argument array or \{ args, \.\.\.options \}/,
  );
  await assert.rejects(app.sendMany('demo.echo', [['a']], { id: 'shared' } as never), /"id" cannot be shared by many jobs/);
  await assert.rejects(
    app.sendMany('demo.echo', [['a']], { priority: 1.5 }),
    /^CeleriacError: sendMany\(demo\.echo\): priority must be an integer, got 1\.5/,
  );
  assert.equal(await journalText(dir), before, 'a refused sendMany writes nothing');
  await app.close();

  const client = await createClient({ dir });
  const sent = await client.sendMany('demo.echo', [
    { args: ['z'], id: 'k1' },
    { args: ['w'], id: 'k9' },
    { args: ['v'], id: 'k9' },
  ]);
  assert.deepEqual(
    sent.map((s) => s.id),
    ['k1', 'k9', 'k9'],
  );
  const reopened = await openApp(t, { dir });
  assert.deepEqual(
    [(await reopened.get('k1'))?.args, (await reopened.get('k9'))?.args],
    [['old'], ['w']],
    'through the inbox too, a known id creates nothing',
  );
  assert.equal((await reopened.counts()).pending, 5);
});

test('jobs sent before start() wait, then run once the app starts', async (t) => {
  const app = await openApp(t);
  const h = await app.send('demo.echo', ['early']);
  assert.equal((await h.info())?.state, 'pending');
  await app.start();
  assert.equal(await h.result({ timeout: 10 }), 'early');
});

test('unknown task names suggest the nearest known one', async (t) => {
  const app = await openApp(t);
  await assert.rejects(app.send('demo.ecko', []), (err: CeleriacError) => {
    assert.equal(err.code, 'UNKNOWN_TASK');
    assert.match(err.message, /did you mean "demo.echo"/);
    return true;
  });
});

test('arguments that JSON would alter are refused with the path of the bad value', async (t) => {
  const app = await openApp(t);
  await assert.rejects(app.send('demo.echo', [{ when: new Date() }]), /args\[0\]\.when is a Date/);
  await assert.rejects(app.send('demo.echo', [{ n: Number.NaN }]), /args\[0\]\.n is NaN/);
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  await assert.rejects(app.send('demo.echo', [cyclic]), /cycle/);
  await assert.rejects(app.send('demo.echo', 'not-an-array' as never), /args must be an array/);
});
