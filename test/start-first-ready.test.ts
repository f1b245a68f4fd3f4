// start() resolves once one worker thread has loaded the task modules, and the first
// jobs run on it: they do not wait for the other threads to load (process start to first
// result is what an embedded library is judged by).
import { strict as assert } from 'node:assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { createCeleriac } from '../src/index.js';
import { ROOT, tempDir, waitFor } from './helpers.js';

/**
 * A task module that logs each import as it begins and ends; every import after the first
 * waits at its top level until `release` exists (at most 20 s).
 */
function slowSecondImport(dir: string): { file: string; log: string; release: string } {
  const log = join(dir, 'imports.log');
  const release = join(dir, 'release');
  writeFileSync(log, '');
  const file = join(dir, 'slow-second.mjs');
  writeFileSync(
    file,
    `import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { task } from ${JSON.stringify(join(ROOT, 'src', 'index.ts'))};
const log = ${JSON.stringify(log)};
const first = !readFileSync(log, 'utf8').includes('begin');
appendFileSync(log, 'begin\\n');
for (let waited = 0; !first && !existsSync(${JSON.stringify(release)}) && waited < 20_000; waited += 20)
  await new Promise((r) => setTimeout(r, 20));
appendFileSync(log, 'loaded\\n');
export const noop = task('slow.noop', (n) => n);
`,
  );
  return { file, log, release };
}

const lines = (log: string) => readFileSync(log, 'utf8').split('\n').filter(Boolean);

for (const how of ['start()', 'start: true'] as const) {
  test(`${how}: the first job runs on the first thread ready, while the second still loads`, async (t) => {
    const dir = await tempDir(t);
    const { file, log, release } = slowSecondImport(dir);
    const app = await createCeleriac({
      dir: join(dir, 'data'),
      tasks: [file],
      concurrency: 2,
      logger: false,
      start: how === 'start: true',
    });
    t.after(() => app.close());
    await app.start();
    assert.equal(await (await app.send('slow.noop', [5])).result(), 5);
    // Several at once: none is handed to the thread still loading.
    const early = await Promise.all([1, 2, 3].map(async (n) => (await app.send('slow.noop', [n])).result()));
    assert.deepEqual(early, [1, 2, 3]);
    assert.equal(lines(log).filter((l) => l === 'loaded').length, 1, 'the job ran before the second thread finished loading');
    await waitFor(() => lines(log).length === 3, 15_000, 'the second thread to begin importing');
    writeFileSync(release, '');
    await waitFor(() => lines(log).length === 4, 15_000, 'the second thread to load');
    const results = await Promise.all(Array.from({ length: 20 }, async (_, i) => (await app.send('slow.noop', [i])).result()));
    assert.deepEqual(
      results,
      Array.from({ length: 20 }, (_, i) => i),
    );
    assert.equal(app.workers().threads.length, 2);
  });
}
