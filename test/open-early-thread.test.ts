// createCeleriac() starts the worker thread that discovers the tasks before it has
// imported the rest of the host's machinery (app.js: store, scheduler, socket,
// dashboard): the thread's start-up and that import overlap. Seen in a fresh process of
// the built package whose load hook holds app.js back for 3 s.
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { DIST_INDEX, ensureBuilt, project } from './cli-helpers.js';

const run = promisify(execFile);

const HOOK = `import { appendFileSync } from 'node:fs';
let log;
export function initialize(data) { log = data.log; }
export async function load(url, context, next) {
  if (url.endsWith('/dist/app.js')) {
    await new Promise((r) => setTimeout(r, 3000));
    appendFileSync(log, 'app.js loaded\\n');
  }
  return next(url, context);
}
`;

const MAIN = `import { register } from 'node:module';
import { appendFileSync, writeFileSync } from 'node:fs';
const [log, dir] = process.argv.slice(2);
writeFileSync(log, '');
register(new URL('./hook.mjs', import.meta.url), { data: { log } });
process.on('worker', () => appendFileSync(log, 'thread started\\n'));
const { createCeleriac } = await import(${JSON.stringify(DIST_INDEX)});
const app = await createCeleriac({ dir, logger: false });
await app.close();
`;

test('createCeleriac() starts the discovering thread while app.js is still loading', { timeout: 240_000 }, async (t) => {
  ensureBuilt();
  const dir = await project(t, { 'main.mjs': MAIN, 'hook.mjs': HOOK });
  const log = join(dir, 'events.log');
  await run(process.execPath, [join(dir, 'main.mjs'), log, join(dir, 'data')], { cwd: dir, timeout: 120_000 });
  const events = readFileSync(log, 'utf8').split('\n').filter(Boolean);
  // The loader's hooks thread is reported too; without the early start the discovering thread came after app.js.
  assert.equal(events.at(-1), 'app.js loaded', `events: ${events.join(', ')}`);
  assert.ok(events.includes('thread started'), `events: ${events.join(', ')}`);
});
