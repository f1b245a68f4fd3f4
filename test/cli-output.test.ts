// What the `celeriac` commands print and where: all of it, whatever reads it (a slow pipe),
// the id alone on stdout for `send`, notes on stderr. The built bin, spawned as users run it.
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { readJobs } from '../src/admin.js';
import { createCeleriac } from '../src/index.js';
import { BIN, celeriac, ensureBuilt, explain, importTask, json, project } from './cli-helpers.js';
import { tempDir } from './helpers.js';

before(() => ensureBuilt());

/** Run a shell pipeline; resolves with its exit code and stderr (bounded wait). */
function shell(script: string, cwd: string, timeoutMs = 60_000): Promise<{ code: number | null; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  delete env.NODE_TEST_CONTEXT;
  delete env.NODE_OPTIONS;
  const child = spawn('bash', ['-c', script], { cwd, env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`bash -c ${script} did not finish within ${timeoutMs} ms\n${stderr}`));
    }, timeoutMs);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

describe('CLI output', { concurrency: 2 }, () => {
  test('a slow reader on a pipe gets all of a 1 MB `list --json`', async (t) => {
    const tmp = await tempDir(t, 'celeriac-cli-out-');
    const dir = join(tmp, 'data');
    const app = await createCeleriac({ dir, logger: false });
    const jobs = 260;
    await app.sendMany(
      'celeriac.test',
      Array.from({ length: jobs }, (_, i) => [`${i}:${'x'.repeat(4000)}`]),
    );
    await app.close();

    // The reader starts reading a second after the command began writing: by then the
    // pipe's buffer (64 KiB) is full and the rest is queued in the writing process.
    const out = join(tmp, 'out.json');
    const script = `set -o pipefail; node ${JSON.stringify(BIN)} list --json --limit 1000 --dir ${JSON.stringify(dir)} | (sleep 1; cat > ${JSON.stringify(out)})`;
    const r = await shell(script, tmp);
    assert.equal(r.code, 0, r.stderr);
    const text = await readFile(out, 'utf8');
    assert.ok(text.length > 1_000_000, `the output is over 1 MB (got ${text.length} bytes)`);
    const listed = JSON.parse(text) as { id: string; args: string[] }[];
    assert.equal(listed.length, jobs, 'every job is in the output');
  });

  test('send: stdout carries the id alone (ID=$(celeriac send ...)), the note goes to stderr', async (t) => {
    const tmp = await tempDir(t, 'celeriac-cli-out-');
    const dir = join(tmp, 'data');
    const r = await celeriac(t, tmp, ['send', 'celeriac.test', '["x"]', '--dir', dir]);
    assert.equal(r.code, 0, explain(r));
    assert.match(r.stdout, /^[0-9a-f-]{36}\n$/, explain(r, 'one line: the id'));
    assert.match(r.stderr, /sent celeriac\.test; no worker is running: it runs when one starts/, explain(r));
    const id = r.stdout.trim();
    assert.equal((await readJobs(dir)).get(id)?.task, 'celeriac.test', "the printed id is the job's");
    const j = await celeriac(t, tmp, ['send', 'celeriac.test', '["y"]', '--dir', dir, '--json']);
    assert.equal(j.code, 0, explain(j));
    assert.deepEqual(Object.keys(json(j)).sort(), ['id', 'task', 'worker'], 'stdout is the JSON alone');
  });

  test('send: a task module that does not load is a warning with file:line; sends to tasks that load still work', async (t) => {
    const cwd = await project(t, {
      'tasks/echo.js': `${importTask()}export const echo = task('demo.echo', (message) => message);\n`,
      // Being edited: a syntax error on line 3.
      'tasks/broken.js': `${importTask()}\nexport const half = task('demo.half', (x) => x / 2;\n`,
      'celeriac.config.json': JSON.stringify({ dir: '.celeriac', tasks: ['./tasks'] }),
    });
    const r = await celeriac(t, cwd, ['send', 'demo.echo', '["x"]']);
    assert.equal(r.code, 0, explain(r));
    assert.match(r.stdout, /^[0-9a-f-]{36}\n$/, explain(r));
    assert.match(r.stderr, /warning: task module .*tasks\/broken\.js:3(?::\d+)? failed to import: SyntaxError/, explain(r));
    assert.equal((await readJobs(join(cwd, '.celeriac'))).get(r.stdout.trim())?.task, 'demo.echo');

    // A task that may be in the broken module: refused, saying so.
    const half = await celeriac(t, cwd, ['send', 'demo.half', '[4]']);
    assert.equal(half.code, 1, explain(half));
    assert.match(
      half.stderr,
      /unknown task "demo\.half".*; it may be defined in a module that did not load:\n {2}- task module .*broken\.js:3/,
      explain(half),
    );
  });

  test('a mistyped command suggests the nearest one', async (t) => {
    const tmp = await tempDir(t, 'celeriac-cli-out-');
    const r = await celeriac(t, tmp, ['lst']);
    assert.equal(r.code, 2, explain(r));
    assert.match(r.stderr, /unknown command "lst": did you mean "list"\? \(commands: worker, send, list/, explain(r));
    const far = await celeriac(t, tmp, ['frobnicate']);
    assert.equal(far.code, 2, explain(far));
    assert.doesNotMatch(far.stderr, /did you mean/, explain(far, 'no suggestion for a word that is not close to any command'));
  });

  test('a cancelled job shows no RUN AT in list and no "run at" in show; a waiting one does', async (t) => {
    const tmp = await tempDir(t, 'celeriac-cli-out-');
    const dir = join(tmp, 'data');
    for (const id of ['gone', 'later']) {
      const r = await celeriac(t, tmp, ['send', 'celeriac.test', '["x"]', '--id', id, '--countdown', '3600', '--dir', dir]);
      assert.equal(r.code, 0, explain(r));
    }
    const c = await celeriac(t, tmp, ['cancel', 'gone', '--dir', dir]);
    assert.equal(c.code, 0, explain(c));
    const list = await celeriac(t, tmp, ['list', '--dir', dir]);
    assert.match(list.stdout, /^gone +celeriac\.test +default +cancelled +0 +\S+ ago$/m, explain(list));
    assert.match(list.stdout, /^later +celeriac\.test +default +pending +0 +\S+ ago +in (?:1h|\d+m)$/m, explain(list));
    const [gone, later] = await Promise.all([
      celeriac(t, tmp, ['show', 'gone', '--dir', dir]),
      celeriac(t, tmp, ['show', 'later', '--dir', dir]),
    ]);
    assert.match(gone.stdout, /^state +cancelled$/m, explain(gone));
    assert.doesNotMatch(gone.stdout, /^run at/m, explain(gone));
    assert.match(later.stdout, /^run at +\S+ \(in (?:1h|\d+m)\)$/m, explain(later));
  });
});
