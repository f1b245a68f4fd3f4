// A worker thread that dies while importing the task modules after start() has resolved
// leaves its place to a replacement, like any lost worker, up to maxWorkerLosses threads
// in a row; a loading thread stopped on purpose (hot reload) is neither replaced nor reported.
import { strict as assert } from 'node:assert';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { createCeleriac } from '../src/index.js';
import { ROOT, tempDir, testPool, waitFor } from './helpers.js';

/**
 * A task module whose every import claims the next number (a file `import-N`, created
 * exclusively): imports numbered in `dies` exit the thread with code 3; import `waits`
 * waits at its top level until `release` exists (at most 20 s). Its task returns the number.
 */
function numberedImports(dir: string, rules: { dies: string; waits?: number }): { file: string; imports: () => number; release: string } {
  const claims = join(dir, 'claims');
  const release = join(dir, 'release');
  const file = join(dir, 'numbered.mjs');
  writeFileSync(
    file,
    `import { closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { task } from ${JSON.stringify(join(ROOT, 'src', 'index.ts'))};
const claims = ${JSON.stringify(claims)};
mkdirSync(claims, { recursive: true });
let n = 1;
for (;; n++) {
  try {
    closeSync(openSync(join(claims, 'import-' + n), 'wx'));
    break;
  } catch (err) {
    if (err.code !== 'EEXIST') throw err;
  }
}
if (${rules.dies}) process.exit(3);
for (let waited = 0; n === ${rules.waits ?? 0} && !existsSync(${JSON.stringify(release)}) && waited < 20_000; waited += 20)
  await new Promise((r) => setTimeout(r, 20));
export const where = task('numbered.where', () => n);
`,
  );
  const imports = () => {
    try {
      return readdirSync(claims).length;
    } catch {
      return 0;
    }
  };
  return { file, imports, release };
}

for (const how of ['start()', 'start: true'] as const) {
  test(`${how}: a thread that dies while loading is replaced, and the pool gets back to its size`, async (t) => {
    const dir = await tempDir(t);
    const { file, imports } = numberedImports(dir, { dies: 'n === 2' });
    const logged: string[] = [];
    const app = await createCeleriac({
      dir: join(dir, 'data'),
      tasks: [file],
      concurrency: 2,
      logger: { info: () => undefined, warn: (m) => logged.push(m), error: (m) => logged.push(m) },
      start: how === 'start: true',
    });
    t.after(() => app.close());
    await app.start();
    await waitFor(
      () => {
        const threads = app.workers().threads;
        return threads.length === 2 && threads.every((w) => w.state === 'active');
      },
      20_000,
      'two loaded threads again',
    );
    assert.equal(imports(), 3, 'one replacement, which loaded');
    assert.ok(
      logged.some((m) => m === 'worker thread lost while loading the task modules (exit code 3); starting a replacement'),
      logged.join(' | '),
    );
    const ran = await Promise.all(Array.from({ length: 4 }, async () => (await app.send('numbered.where', [])).result({ timeout: 15 })));
    assert.ok(
      ran.every((n) => n === 1 || n === 3),
      `ran on imports ${ran.join(', ')}`,
    );
  });
}

test('a place whose threads die while loading maxWorkerLosses times in a row is left empty, with a warning naming the cause', async (t) => {
  const dir = await tempDir(t);
  const { file, imports } = numberedImports(dir, { dies: 'n > 1' });
  const logged: string[] = [];
  const app = await createCeleriac({
    dir: join(dir, 'data'),
    tasks: [file],
    concurrency: 2,
    maxWorkerLosses: 2,
    logger: { info: () => undefined, warn: (m) => logged.push(m), error: (m) => logged.push(m) },
  });
  t.after(() => app.close());
  await app.start();
  const given =
    'worker thread lost while loading the task modules (exit code 3), 2 time(s) in a row (maxWorkerLosses): not replaced, the pool runs 1 of its 2 threads';
  await waitFor(() => logged.includes(given), 20_000, 'the pool to give up');
  // The place was given up in the turn the last thread died: no thread is starting in it.
  assert.equal(app.workers().threads.length, 1);
  assert.equal(imports(), 3, 'the first thread, and two that died in the second place');
  assert.equal(await (await app.send('numbered.where', [])).result({ timeout: 15 }), 1);
});

test('a loading thread that a hot reload retires is neither replaced nor reported as failed', async (t) => {
  const dir = await tempDir(t);
  const { file, imports, release } = numberedImports(dir, { dies: 'false', waits: 2 });
  const events: string[] = [];
  const pool = testPool([file], { size: 2, maxWorkerLosses: 3, onEvent: (m) => events.push(m) });
  t.after(() => pool.close());
  await pool.discover();
  await pool.start();
  await waitFor(() => imports() === 2, 20_000, 'the second thread to begin importing');
  const reloaded = await pool.reload([file], []);
  assert.equal(reloaded.ok, true, JSON.stringify(reloaded));
  // The retired loading thread is terminated at once (it holds no job): two threads are left, both of the new generation.
  await waitFor(() => pool.threads().length === 2, 20_000, 'the retired threads to stop');
  writeFileSync(release, '');
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(events, []);
  assert.equal(imports(), 4, 'two threads at start, two for the reload, no replacement');
});

test('a thread that dies while loading before start() has resolved is replaced once it has', async (t) => {
  const dir = await tempDir(t);
  const { file, imports, release } = numberedImports(dir, { dies: 'n === 2', waits: 1 });
  const events: string[] = [];
  const pool = testPool([file], { size: 2, maxWorkerLosses: 3, onEvent: (m) => events.push(m) });
  t.after(() => pool.close());
  const started = pool.start();
  // The second import has died (its thread is gone from the pool) while the first still waits.
  await waitFor(() => imports() === 2 && pool.threads().length === 1, 20_000, 'the second thread to die');
  assert.equal(pool.started, false);
  writeFileSync(release, '');
  await started;
  await waitFor(
    () => {
      const threads = pool.threads();
      return threads.length === 2 && threads.every((w) => w.state === 'active');
    },
    20_000,
    'two loaded threads again',
  );
  assert.equal(imports(), 3, 'one replacement, which loaded');
  assert.deepEqual(events, ['worker thread lost while loading the task modules (exit code 3); starting a replacement']);
});
