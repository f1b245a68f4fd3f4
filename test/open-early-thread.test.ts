// createCeleriac() starts the worker thread that discovers the tasks before it has
// imported the rest of the host's machinery (app.js: store, scheduler, socket,
// dashboard): the thread's start-up and that import overlap. Seen in a fresh process of
// the built package whose load hook holds app.js back until the discovering thread has
// imported the task module; and should that import of app.js fail, the thread is stopped.
// The spawn comes before app.js begins to load (seen in the order a resolve hook logs).
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { DIST_INDEX, ensureBuilt, importTask, project } from './cli-helpers.js';

const run = promisify(execFile);

/**
 * From Node 22 on, module.register()'s hooks also serve worker threads, so holding app.js
 * back in a hook stalls the very thread whose start the test watches. The code path is the
 * same on every Node: the run on Node 20 (CI runs both) pins it.
 */
const HOOKS_SHARED_WITH_THREADS =
  Number(process.versions.node.split('.')[0]) >= 22
    ? 'module hooks are shared with worker threads on this Node: pinned by the Node 20 run'
    : false;

/**
 * Holds dist/app.js back until the log says the task module was imported (at most 60 s,
 * so that, without the early start, the test fails instead of hanging); then loads it,
 * or with `fail`, throws.
 */
const HOOK = `import { appendFileSync, readFileSync } from 'node:fs';
let log;
let fail;
export function initialize(data) { ({ log, fail } = data); }
export async function load(url, context, next) {
  if (url.endsWith('/dist/app.js')) {
    for (let waited = 0; !readFileSync(log, 'utf8').includes('task module imported') && waited < 60_000; waited += 20)
      await new Promise((r) => setTimeout(r, 20));
    appendFileSync(log, 'app.js loaded\\n');
    if (fail) throw new Error('app.js failed to load');
  }
  return next(url, context);
}
`;

const TASKS = (log: string) => `import { appendFileSync } from 'node:fs';
${importTask()}appendFileSync(${JSON.stringify(log)}, 'task module imported\\n');
export const noop = task('early.noop', () => 1);
`;

/** Logs each worker thread that exits, and whether createCeleriac() failed. */
const MAIN = `import { register } from 'node:module';
import { appendFileSync, writeFileSync } from 'node:fs';
const [log, dir, tasks, fail] = process.argv.slice(2);
writeFileSync(log, '');
register(new URL('./hook.mjs', import.meta.url), { data: { log, fail: fail === 'fail' } });
process.on('worker', (w) => w.on('exit', () => appendFileSync(log, 'thread exited\\n')));
const { createCeleriac } = await import(${JSON.stringify(DIST_INDEX)});
try {
  const app = await createCeleriac({ dir, tasks, logger: false });
  await app.close();
} catch (err) {
  appendFileSync(log, 'createCeleriac() failed: ' + err.message + '\\n');
}
`;

async function runMain(t: Parameters<typeof project>[0], fail: boolean): Promise<string[]> {
  ensureBuilt();
  const dir = await project(t, { 'main.mjs': MAIN, 'hook.mjs': HOOK });
  const log = join(dir, 'events.log');
  writeFileSync(join(dir, 'tasks.mjs'), TASKS(log));
  const args = [join(dir, 'main.mjs'), log, join(dir, 'data'), join(dir, 'tasks.mjs'), fail ? 'fail' : 'ok'];
  await run(process.execPath, args, { cwd: dir, timeout: 120_000 });
  return readFileSync(log, 'utf8').split('\n').filter(Boolean);
}

test('createCeleriac() starts the discovering thread while app.js is still loading', {
  timeout: 240_000,
  skip: HOOKS_SHARED_WITH_THREADS,
}, async (t) => {
  const events = await runMain(t, false);
  // Without the early start the thread began only once app.js had loaded: the hook gave up waiting.
  assert.deepEqual(events.slice(0, 2), ['task module imported', 'app.js loaded'], `events: ${events.join(', ')}`);
});

test('when app.js fails to load, createCeleriac() stops the thread it started and rejects', {
  timeout: 240_000,
  skip: HOOKS_SHARED_WITH_THREADS,
}, async (t) => {
  const events = await runMain(t, true);
  assert.deepEqual(
    events,
    ['task module imported', 'app.js loaded', 'thread exited', 'createCeleriac() failed: app.js failed to load'],
    `events: ${events.join(', ')}`,
  );
});
