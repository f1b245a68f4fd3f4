// Arity at send: a call with too many or too few arguments for the task's declared
// parameters is refused before anything is written, by the app, the client and the CLI,
// with the task's signature in the message. Optional and rest parameters are allowed for.
import { strict as assert } from 'node:assert';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, test, type TestContext } from 'node:test';
import { readJobs } from '../src/admin.js';
import { createCeleriac, createClient, CeleriacError } from '../src/index.js';
import { celeriac, ensureBuilt, explain, importTask, project } from './cli-helpers.js';
import { ROOT, tempDir } from './helpers.js';

const TASKS = (from: string) => `import { task } from ${JSON.stringify(from)};
export const hash = task('myapp.hash', (text, rounds) => text + rounds);
export const opt = task('myapp.opt', async (url, { retries = 3 } = {}) => url + retries);
export const rest = task('myapp.rest', (first, ...more) => [first, ...more]);
export const unread = task('myapp.unread', function (a, b) { return a + b; }.bind(null));
`;

async function tasksDir(t: TestContext): Promise<string> {
  const dir = await tempDir(t, 'celeriac-arity-');
  await writeFile(join(dir, 'tasks.mts'), TASKS(join(ROOT, 'src', 'index.ts')));
  return dir;
}

const refused = (code: string, re: RegExp) => (err: unknown) => {
  assert.ok(err instanceof CeleriacError, `a CeleriacError, got ${String(err)}`);
  assert.equal(err.code, code);
  assert.match(err.message, re);
  return true;
};

describe('arity at send', () => {
  test('the app refuses too many or too few arguments with the signature, and writes nothing', async (t) => {
    const dir = await tasksDir(t);
    const data = join(dir, 'data');
    const app = await createCeleriac({ dir: data, tasks: [join(dir, 'tasks.mts')], logger: false });
    t.after(() => app.close({ timeout: 1 }));
    await assert.rejects(
      app.send('myapp.hash', ['abc']),
      refused(
        'INVALID_ARGS',
        /send\(myapp\.hash\): myapp\.hash\(text, rounds\) takes 2 arguments, got 1: \["abc"\] \(defined at .*tasks\.mts:2\)/,
      ),
    );
    await assert.rejects(app.send('myapp.hash', ['abc', 1, 2]), refused('INVALID_ARGS', /takes 2 arguments, got 3/));
    await assert.rejects(
      app.send('myapp.opt', []),
      refused('INVALID_ARGS', /myapp\.opt\(url, \{ ?retries ?= ?3 ?\} ?= ?\{\}\) takes 1 to 2 arguments, got 0/),
    );
    await assert.rejects(app.send('myapp.opt', ['u', {}, 3]), refused('INVALID_ARGS', /takes 1 to 2 arguments, got 3/));
    await assert.rejects(
      app.send('myapp.rest', []),
      refused('INVALID_ARGS', /myapp\.rest\(first, \.\.\.more\) takes at least 1 argument, got 0/),
    );
    await assert.rejects(
      app.sendMany('myapp.hash', [['a', 1], ['b']]),
      refused('INVALID_ARGS', /sendMany\(myapp\.hash\).*takes 2 arguments, got 1/),
    );
    assert.equal((await readJobs(data)).size, 0, 'nothing refused was written');

    // What fits the signature is accepted: optional and rest parameters allowed for; a
    // task whose parameters cannot be read (a bound function) is not checked.
    for (const [name, args] of [
      ['myapp.hash', ['a', 1]],
      ['myapp.opt', ['u']],
      ['myapp.opt', ['u', { retries: 1 }]],
      ['myapp.rest', [1]],
      ['myapp.rest', [1, 2, 3, 4]],
      ['myapp.unread', [1, 2, 3]],
    ] as const) {
      await app.send(name, [...args]);
    }
    assert.equal((await readJobs(data)).size, 6);
  });

  test("TypeScript erases `b?: T` to `b`: a TypeScript task module's optional parameters are allowed for, its required ones still checked", async (t) => {
    const dir = await tempDir(t, 'celeriac-arity-ts-');
    const from = JSON.stringify(join(ROOT, 'src', 'index.ts'));
    await writeFile(join(dir, 'helpers.mts'), 'export function elsewhere(a: string, b?: string): string { return a + (b ?? ""); }\n');
    await writeFile(
      join(dir, 'tasks.mts'),
      `import { task } from ${from};
import { elsewhere } from './helpers.mts';
export const greet = task('ts.greet', (name: string, greeting?: string): string => \`\${greeting ?? 'hello'} \${name}\`);
export const pair = task('ts.pair', (left: string, right: string): string => left + right);
export const imported = task('ts.imported', elsewhere);
`,
    );
    const data = join(dir, 'data');
    const app = await createCeleriac({ dir: data, tasks: [join(dir, 'tasks.mts')], logger: false });
    t.after(() => app.close({ timeout: 1 }));
    await app.start();
    assert.equal(
      await (await app.send('ts.greet', ['ann'])).result({ timeout: 20 }),
      'hello ann',
      'the optional parameter may be left out',
    );
    assert.equal(await (await app.send('ts.greet', ['ann', 'hi'])).result({ timeout: 20 }), 'hi ann');
    await assert.rejects(
      app.send('ts.greet', ['ann', 'hi', 'extra']),
      refused('INVALID_ARGS', /ts\.greet\(name, greeting\) takes 1 to 2 arguments, got 3/),
    );
    await assert.rejects(
      app.send('ts.pair', ['a']),
      refused('INVALID_ARGS', /ts\.pair\(left, right\) takes 2 arguments, got 1/),
      'a required parameter is still checked',
    );
    assert.equal(await (await app.send('ts.imported', ['x'])).result({ timeout: 20 }), 'x', 'a function from another file: no minimum');
  });

  test('the client (with the task paths) refuses the same way; an inbox job with the wrong count is rejected by the owner', async (t) => {
    const dir = await tasksDir(t);
    const data = join(dir, 'data');
    const client = await createClient({ dir: data, tasks: [join(dir, 'tasks.mts')] });
    await assert.rejects(
      client.send('myapp.hash', ['abc']),
      refused('INVALID_ARGS', /myapp\.hash\(text, rounds\) takes 2 arguments, got 1/),
    );
    await assert.rejects(client.sendMany('myapp.hash', [['abc']]), refused('INVALID_ARGS', /takes 2 arguments, got 1/));
    assert.equal((await readJobs(data)).size, 0, 'nothing refused reached the inbox');

    // A client that knows no tasks cannot check: the owner refuses the message, saying why.
    const blind = await createClient({ dir: data });
    await blind.send('myapp.hash', ['abc'], { id: 'blind' });
    await blind.send('myapp.hash', ['abc', 2], { id: 'fine' });
    const app = await createCeleriac({ dir: data, tasks: [join(dir, 'tasks.mts')], logger: false });
    t.after(() => app.close({ timeout: 1 }));
    assert.equal(await app.get('blind'), undefined, 'the wrong-count job was not accepted');
    assert.ok(await app.get('fine'), 'the good one was');
    const rejected = await readdir(join(data, 'inbox-rejected'));
    assert.ok(rejected.length >= 1, 'the refused message is kept aside');
  });
});

describe('arity at send, CLI', () => {
  before(() => ensureBuilt());
  test('celeriac send with the wrong number of arguments exits 1 with the signature and sends nothing', async (t) => {
    const cwd = await project(t, {
      'tasks/hash.js': `${importTask()}export const hash = task('myapp.hash', (text, rounds) => text + rounds);\n`,
      'celeriac.config.json': JSON.stringify({ dir: '.celeriac', tasks: ['./tasks'] }),
    });
    const bad = await celeriac(t, cwd, ['send', 'myapp.hash', '"abc"']);
    assert.equal(bad.code, 1, explain(bad));
    assert.match(bad.stderr, /myapp\.hash\(text, rounds\) takes 2 arguments, got 1: \["abc"\]/, explain(bad));
    assert.equal(bad.stdout, '', explain(bad, 'no id printed'));
    assert.equal((await readJobs(join(cwd, '.celeriac'))).size, 0);
    const good = await celeriac(t, cwd, ['send', 'myapp.hash', '["abc", 2]']);
    assert.equal(good.code, 0, explain(good));
  });
});
