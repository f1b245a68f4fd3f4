import { strict as assert } from 'node:assert';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { type CeleriacError, createCeleriac, task } from '../src/index.js';
import { fixture, tempDir } from './helpers.js';

async function openFails(t: Parameters<typeof tempDir>[0], tasks: string[]): Promise<{ err: CeleriacError; dir: string }> {
  const dir = join(await tempDir(t), 'data');
  try {
    const app = await createCeleriac({ dir, tasks, logger: false });
    await app.close();
  } catch (err) {
    return { err: err as CeleriacError, dir };
  }
  throw new Error('createCeleriac was expected to fail');
}

test('the app lists every task of a directory with its module file and line', async (t) => {
  const dir = join(await tempDir(t), 'data');
  const app = await createCeleriac({ dir, tasks: [fixture('basic')], logger: false });
  t.after(() => app.close());
  const echo = app.tasks.find((x) => x.name === 'demo.echo');
  assert.equal(echo?.file, fixture('basic', 'tasks.ts'));
  assert.equal(echo?.line, 3);
  assert.deepEqual(
    app.tasks.map((x) => x.name).sort(),
    ['celeriac.test', 'ctx.whoami', 'demo.boom', 'demo.echo', 'math.add'],
    "the modules' tasks and the built-in test task",
  );
});

test('two modules defining the same name: an error naming both files', async (t) => {
  const { err } = await openFails(t, [fixture('dup')]);
  assert.equal(err.code, 'DUPLICATE_TASK');
  assert.match(err.message, /"dup\.same" is defined twice/);
  assert.ok(err.message.includes(`${fixture('dup', 'a.ts')}:3`), err.message);
  assert.ok(err.message.includes(`${fixture('dup', 'b.ts')}:4`), err.message);
});

test('a module that fails to import: file:line of the fault', async (t) => {
  const syntax = await openFails(t, [fixture('bad-syntax')]);
  assert.equal(syntax.err.code, 'TASK_IMPORT_FAILED');
  assert.ok(syntax.err.message.includes(`${fixture('bad-syntax', 'broken.ts')}:5`), syntax.err.message);
  const thrown = await openFails(t, [fixture('bad-throw')]);
  assert.equal(thrown.err.code, 'TASK_IMPORT_FAILED');
  assert.ok(thrown.err.message.includes(`${fixture('bad-throw', 'throws.js')}:6`), thrown.err.message);
  assert.match(thrown.err.message, /TypeError/);
});

test('an invalid task name is reported with the file and line that declared it', async (t) => {
  const { err, dir } = await openFails(t, [fixture('bad-name')]);
  assert.equal(err.code, 'TASK_IMPORT_FAILED');
  assert.match(err.message, /invalid task name "not a valid name!"/);
  assert.ok(err.message.includes(`${fixture('bad-name', 'named.ts')}:3`), err.message);
  const left = await readdir(dir).catch(() => [] as string[]);
  assert.ok(!left.includes('LOCK'), 'a failed open releases the data dir');
  const app = await createCeleriac({ dir, tasks: [fixture('basic')], logger: false });
  assert.equal(app.recovery.replayedRecords, 0, 'a failed open wrote no job');
  await app.close();
  assert.throws(() => task('', () => 1), /invalid task name/);
  assert.throws(() => task('a..b', () => 1), /invalid task name/);
  assert.throws(() => task('ok.name', { maxRetries: -1 }, () => 1), /maxRetries must be an integer/);
  assert.throws(() => task('ok.name', { timeout: 'soon' }, () => 1), /timeout must be/);
  assert.throws(() => task('ok.name', { retries: 3 } as never, () => 1), /unknown option "retries"/);
});

test('a tasks path that does not exist is named', async (t) => {
  const { err } = await openFails(t, [fixture('nope')]);
  assert.equal(err.code, 'TASKS_NOT_FOUND');
  assert.ok(err.message.includes(fixture('nope')));
});

test('unknown or wrongly typed app options are named', async (t) => {
  const dir = join(await tempDir(t), 'data');
  await assert.rejects(createCeleriac({ dir, tasks: [fixture('basic')], concurency: 2 } as never), /unknown option "concurency"/);
  await assert.rejects(createCeleriac({ dir, tasks: [fixture('basic')], concurrency: 0 }), /"concurrency" must be an integer ≥ 1/);
  await assert.rejects(createCeleriac({ dir, tasks: [fixture('basic')], resultTtl: 'forever' }), /resultTtl/);
});

test('start: true starts the workers while the journal is read: pending jobs run with no start() call', async (t) => {
  const dir = join(await tempDir(t), 'data');
  const sender = await createCeleriac({ dir, tasks: [fixture('basic')], logger: false });
  const handles = await sender.sendMany('demo.echo', [['a'], ['b'], ['c']]);
  await sender.close();

  const app = await createCeleriac({ dir, tasks: [fixture('basic')], logger: false, concurrency: 2, start: true });
  t.after(() => app.close({ timeout: 1 }));
  assert.ok(
    app.tasks.some((x) => x.name === 'demo.echo' && x.file === fixture('basic', 'tasks.ts')),
    'the task list comes from the started workers',
  );
  const results = await Promise.all(handles.map((h) => app.result(h.id, { timeout: 20 })));
  assert.deepEqual(results, ['a', 'b', 'c']);
  await app.start(); // already started: nothing more happens
  assert.equal(await (await app.send('demo.echo', ['d'])).result({ timeout: 20 }), 'd');
});

test('start: true with a module that fails to import: the same error, and the data dir is released', async (t) => {
  const dir = join(await tempDir(t), 'data');
  await assert.rejects(createCeleriac({ dir, tasks: [fixture('bad-syntax')], logger: false, start: true }), (err: CeleriacError) => {
    assert.equal(err.code, 'TASK_IMPORT_FAILED');
    assert.ok(err.message.includes(`${fixture('bad-syntax', 'broken.ts')}:5`), err.message);
    return true;
  });
  assert.ok(!(await readdir(dir)).includes('LOCK'), 'a failed open releases the data dir');
  const app = await createCeleriac({ dir, tasks: [fixture('basic')], logger: false });
  await app.close();
  await assert.rejects(
    createCeleriac({ dir, tasks: [fixture('basic')], logger: false, start: 'yes' as unknown as boolean }),
    /"start" must be true or false, got "yes"/,
  );
});
