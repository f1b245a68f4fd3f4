// The worker thread that discovers the tasks at createCeleriac() is the pool's first
// worker once start() is called: the task modules are imported once per thread, not once
// more in a throwaway thread. An app that is never started does not keep that thread.
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { createCeleriac } from '../src/index.js';
import { ROOT, tempDir, waitFor } from './helpers.js';

const run = promisify(execFile);

/** A task module that appends a line to `log` each time a thread imports it. */
function countingModule(dir: string, log: string): string {
  const file = join(dir, 'counted.mjs');
  writeFileSync(
    file,
    `import { appendFileSync } from 'node:fs';
import { task } from ${JSON.stringify(join(ROOT, 'src', 'index.ts'))};
appendFileSync(${JSON.stringify(log)}, 'imported\\n');
export const noop = task('counted.noop', (n) => n);
`,
  );
  return file;
}

const imports = (log: string) => readFileSync(log, 'utf8').split('\n').filter(Boolean).length;

test('start() adopts the thread that discovered the tasks: each thread imports the modules once', async (t) => {
  const dir = await tempDir(t);
  const log = join(dir, 'imports.log');
  writeFileSync(log, '');
  const app = await createCeleriac({ dir: join(dir, 'data'), tasks: [countingModule(dir, log)], concurrency: 2, logger: false });
  t.after(() => app.close());
  assert.equal(imports(log), 1, 'createCeleriac() imported the module in one thread');
  assert.deepEqual(
    app.workers().threads.map((w) => w.state),
    ['standby'],
    'before start() the discovering thread takes no jobs',
  );
  await app.start();
  assert.equal(await (await app.send('counted.noop', [5])).result(), 5);
  // start() resolves once one thread is ready: the second may still be importing.
  await waitFor(() => imports(log) === 2, 15_000, 'the second thread to import the module');
  assert.equal(app.workers().threads.length, 2);
  await (await app.send('counted.noop', [6])).result();
  assert.equal(imports(log), 2, 'two threads, two imports: start() spawned only the second');
});

test('a discovering thread that start() does not adopt soon stops; the app starts anew later', async (t) => {
  const dir = await tempDir(t);
  const log = join(dir, 'imports.log');
  writeFileSync(log, '');
  const app = await createCeleriac({ dir: join(dir, 'data'), tasks: [countingModule(dir, log)], concurrency: 1, logger: false });
  t.after(() => app.close());
  await waitFor(() => app.workers().threads.length === 0, 15_000, 'the unadopted thread to stop');
  await app.start();
  assert.equal(await (await app.send('counted.noop', [6])).result(), 6);
  assert.equal(imports(log), 2, 'start() imported the module in a new thread');
});

test('a process whose app is opened, sent to and never started or closed exits by itself', async (t) => {
  const dir = await tempDir(t);
  const log = join(dir, 'imports.log');
  writeFileSync(log, '');
  const main = join(dir, 'main.mjs');
  writeFileSync(
    main,
    `import { createCeleriac } from ${JSON.stringify(join(ROOT, 'src', 'index.ts'))};
const app = await createCeleriac({ dir: ${JSON.stringify(join(dir, 'data'))}, tasks: [${JSON.stringify(countingModule(dir, log))}], logger: false });
await app.send('counted.noop', [1]);
process.stdout.write('sent');
`,
  );
  const started = Date.now();
  const { stdout } = await run(process.execPath, ['--import', 'tsx', main], { cwd: ROOT, timeout: 60_000 });
  assert.equal(stdout, 'sent');
  assert.ok(Date.now() - started < 60_000);
  assert.equal(imports(log), 1);
});

test('close() of a never-started app stops the discovering thread at once', async (t) => {
  const dir = await tempDir(t);
  const log = join(dir, 'imports.log');
  writeFileSync(log, '');
  const app = await createCeleriac({ dir: join(dir, 'data'), tasks: [countingModule(dir, log)], concurrency: 1, logger: false });
  assert.equal(app.workers().threads.length, 1);
  await app.close();
  assert.deepEqual(app.workers().threads, []);
});
