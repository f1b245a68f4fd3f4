// Bad input through the `celeriac` command that used to end in a stack, a crash signal
// or a silent exit 0: each case now exits with a clear one-line error.
import { strict as assert } from 'node:assert';
import { spawn, spawnSync } from 'node:child_process';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { FileStore } from '../src/store/file-store.js';
import { BIN, celeriac, ensureBuilt, explain, project } from './cli-helpers.js';
import { reachableBy } from './users.js';

const TASKS_JS = `export {};\n`;

before(() => ensureBuilt());

describe('celeriac CLI on bad input', { concurrency: 3 }, () => {
  test('show prints a stored time out of the range of a Date instead of crashing', async (t) => {
    const cwd = await project(t, { 'tasks/tasks.js': TASKS_JS });
    const dir = join(cwd, '.celeriac');
    // A record as an older version, or a hand edit, could leave it: past the send() checks.
    const store = await FileStore.open({ dir, resultTtlMs: 86_400_000, compactAfterBytes: 64 << 20 });
    await store.commit([
      { type: 'add', job: { id: 'far-1', task: 'demo.echo', args: '[]', createdAt: Date.now(), runAt: 1e303, expiresAt: 0, priority: 0 } },
    ]);
    await store.close();
    const show = await celeriac(t, cwd, ['show', 'far-1']);
    assert.equal(show.code, 0, explain(show));
    assert.match(show.stdout, /run at +not a valid time \(out of the range of a Date\) \(invalid time\)/, explain(show));
    const list = await celeriac(t, cwd, ['list']);
    assert.equal(list.code, 0, explain(list));
    assert.match(list.stdout, /far-1 .* invalid time/, explain(list));
  });

  test('--concurrency beyond the bound is a usage error, not a crash', async (t) => {
    const cwd = await project(t, { 'tasks/tasks.js': TASKS_JS });
    const r = await celeriac(t, cwd, ['worker', '--tasks', 'tasks', '--burst', '--concurrency', '100000']);
    assert.equal(r.code, 2, explain(r));
    assert.equal(r.signal, null, explain(r));
    assert.match(r.stderr, /--concurrency must be at most 256, got "100000"/, explain(r));
  });

  test('--dir that is a file: a clear error, for readers and writers alike', async (t) => {
    const cwd = await project(t, { 'tasks/tasks.js': TASKS_JS, afile: 'not a dir' });
    for (const args of [['list'], ['send', 'demo.echo', '[]'], ['worker', '--tasks', 'tasks', '--burst'], ['doctor', '--tasks', 'tasks']]) {
      const r = await celeriac(t, cwd, [...args, '--dir', 'afile']);
      assert.equal(r.code, 2, explain(r, args[0]));
      assert.match(r.stderr, /^celeriac: --dir: the data dir .*afile is a file, not a directory/, explain(r, args[0]));
      assert.doesNotMatch(r.stderr, /\n\s+at /, explain(r, `${args[0]}: no stack`));
    }
  });

  test('a config whose top-level await never settles is an error, not a silent exit 0', async (t) => {
    const cwd = await project(t, {
      'celeriac.config.mjs': `await new Promise(() => {});\nexport default { tasks: './tasks' };\n`,
      'tasks/tasks.js': TASKS_JS,
    });
    const r = await celeriac(t, cwd, ['list']);
    assert.equal(r.code, 2, explain(r));
    assert.match(r.stderr, /config file .*celeriac\.config\.mjs did not finish loading: its top-level await never settles/, explain(r));
  });

  test("another user's call on the data dir says whose it is, without a stack", async (t) => {
    if (process.getuid?.() !== 0) {
      t.skip('needs root: the test creates a second user with useradd');
      return;
    }
    const user = `celeriac-is-${process.pid}`;
    const added = spawnSync('useradd', ['--no-create-home', '--shell', '/usr/sbin/nologin', user], { encoding: 'utf8' });
    if (added.status !== 0) {
      t.skip(`useradd failed: ${added.stderr.trim()}`);
      return;
    }
    t.after(() => void spawnSync('userdel', [user]));
    const ids = spawnSync('id', ['-u', user], { encoding: 'utf8' });
    const uid = Number(ids.stdout.trim());
    if (!reachableBy(t, uid, uid)) return;
    const cwd = await project(t, { 'tasks/tasks.js': TASKS_JS });
    await chmod(cwd, 0o755);
    await mkdir(join(cwd, '.celeriac'), { mode: 0o700 });
    await writeFile(join(cwd, '.celeriac', 'snapshot.db'), '', { mode: 0o600 });
    const child = spawn(process.execPath, [BIN, 'list'], { cwd, uid, gid: uid, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    assert.equal(code, 1, stderr);
    assert.match(
      stderr,
      /^celeriac: permission denied on .*\.celeriac.*: run as root \(the owner of .*\.celeriac\); this process runs as celeriac-is-/,
      stderr,
    );
    assert.doesNotMatch(stderr, /\n\s+at /, 'no stack');
  });
});
