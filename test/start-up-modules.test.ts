// What the path from process start to the first result loads: every module costs a worker
// thread and the host (before it can spawn the discovering thread) a resolve, a read and
// a compile. Seen in the built package: the static import closure of the thread's entry
// and of the open's first part (what loads before the first job whatever the task
// modules do), and, in a fresh process running the README's quick start with a resolve
// hook, what the host loads up to the first result.
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { DIST_INDEX, ensureBuilt, project, RESOLVE_LOG_HOOK, withBundledModules } from './cli-helpers.js';

const run = promisify(execFile);
const DIST = dirname(DIST_INDEX);

/**
 * The modules `entry` (under dist/) imports statically, itself included: dist paths, package
 * names and node: built-ins. A bundled file (scripts/bundle.mjs) names each module it holds
 * in a section comment: with `intoBundles`, those count as imported too (the code that
 * loads, whether as its own file or inside another); without it, only the files loaded.
 */
function staticClosure(entry: string, intoBundles = true): Set<string> {
  const seen = new Set<string>();
  const visit = (file: string) => {
    const key = relative(DIST, file);
    if (seen.has(key)) return;
    seen.add(key);
    const source = readFileSync(file, 'utf8');
    // The emitted JavaScript: type-only imports are gone, `import {} from` stays (it loads).
    for (const m of source.matchAll(/^\s*(?:import|export)\s(?:[^'";]*?\sfrom\s)?['"]([^'"]+)['"]/gm)) {
      const specifier = m[1]!;
      if (specifier.startsWith('.')) visit(resolve(dirname(file), specifier));
      else seen.add(specifier.startsWith('node:') ? specifier : `package:${specifier}`);
    }
    // A bundled module's own imports are the bundle's: its name is all there is to add.
    if (intoBundles) for (const m of source.matchAll(/^\/\/ ([\w/.-]+\.js)$/gm)) seen.add(m[1]!);
  };
  visit(join(DIST, entry));
  return seen;
}

/** Loaded only when used: a cron schedule, a duration string, a misspelt name, schedules' checks, the dashboard, the scheduler, sends. */
const NOT_ON_THE_THREAD_PATH =
  /^package:(?:croner|ms|fastest-levenshtein)$|^send\.js$|^registry\/task-errors\.js$|^dashboard\/|^schedule\/(?:scheduler|registry)\.js$/;

test("a worker thread's entry and the task API import no package or send path a quick start does not use", () => {
  ensureBuilt();
  const thread = staticClosure('pool/thread/worker.js');
  assert.ok(thread.has('task.js') && thread.has('pool/thread/load-modules.js'), `the closure was read: ${[...thread].join(', ')}`);
  assert.deepEqual(
    [...thread].filter((m) => NOT_ON_THE_THREAD_PATH.test(m)),
    [],
    'modules the thread imports before its first job that the quick start never uses',
  );
  const entry = staticClosure('index.js');
  assert.deepEqual(
    [...entry].filter((m) => NOT_ON_THE_THREAD_PATH.test(m)),
    [],
    "modules celeriac's public entry (every task module imports it) loads eagerly",
  );
});

test("a worker thread's entry imports no built-in that only a failed import or a hot-reload spare uses", () => {
  ensureBuilt();
  const thread = staticClosure('pool/thread/worker.js');
  assert.ok(thread.has('node:worker_threads'), `the closure lists built-ins: ${[...thread].join(', ')}`);
  // child_process: locating a syntax error; fs/promises and os: a spare's TypeScript warm-up.
  assert.deepEqual(
    [...thread].filter((m) => /^node:(?:child_process|fs\/promises|os)$/.test(m)),
    [],
    'built-ins a thread loads before its first job that it needs only later, if at all',
  );
});

test("the package loads as bundled files: the public entry's modules in one chunk, the thread's and the open's in entries and chunks", () => {
  ensureBuilt();
  const files = (entry: string) => [...staticClosure(entry, false)].filter((m) => m.endsWith('.js'));
  const index = files('index.js');
  assert.equal(
    index.length,
    2,
    `celeriac's public entry (every task module imports it, in every thread) loads as index.js and one chunk: ${index.join(', ')}`,
  );
  for (const entry of ['pool/thread/worker.js', 'app/begin-open.js', 'app.js']) {
    const loaded = files(entry);
    assert.ok(staticClosure(entry).has('errors.js'), `the closure of ${entry} was read: ${[...staticClosure(entry)].join(', ')}`);
    assert.deepEqual(
      loaded.filter((f) => f !== entry && !f.startsWith('chunks/')),
      [],
      `modules ${entry} loads as files of their own (each costs a resolve, a read, a compile)`,
    );
  }
});

test("the open's first part (before the discovering thread is spawned) imports no scheduler or dashboard", () => {
  ensureBuilt();
  const first = staticClosure('app/begin-open.js');
  assert.ok(first.has('pool/pool.js'), `the closure was read: ${[...first].join(', ')}`);
  assert.deepEqual(
    [...first].filter((m) => NOT_ON_THE_THREAD_PATH.test(m) || /^schedule\/(?:app-schedules|clock|slots)\.js$/.test(m)),
    [],
    'modules imported before the first thread is spawned that only a running scheduler or dashboard needs',
  );
});

const MAIN = `import { register } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
const [log, dir, tasks] = process.argv.slice(2);
register(new URL('./hook.mjs', import.meta.url), { data: { log } });
const { createCeleriac } = await import(${JSON.stringify(DIST_INDEX)});
const app = await createCeleriac({ dir, tasks: [tasks], concurrency: 1, logger: false });
await app.start();
const result = await (await app.send('quick.echo', [5])).result();
const loaded = readFileSync(log, 'utf8').split('\\n').filter(Boolean);
await app.close();
process.stdout.write(JSON.stringify({ result, loaded }));
`;

test('the quick start loads no cron parser, duration parser, name matcher, retry package or dashboard in the host up to its first result', {
  timeout: 240_000,
}, async (t) => {
  ensureBuilt();
  const tasks = `import { task } from ${JSON.stringify(DIST_INDEX)};\nexport const echo = task('quick.echo', (x) => x);\n`;
  const dir = await project(t, { 'main.mjs': MAIN, 'hook.mjs': RESOLVE_LOG_HOOK, 'tasks.mjs': tasks });
  const { stdout } = await run(
    process.execPath,
    [join(dir, 'main.mjs'), join(dir, 'loaded.log'), join(dir, 'data'), join(dir, 'tasks.mjs')],
    { cwd: dir, timeout: 120_000 },
  );
  const seen = JSON.parse(stdout) as { result: unknown; loaded: string[] };
  seen.loaded = withBundledModules(seen.loaded);
  assert.equal(seen.result, 5, 'the job ran');
  assert.ok(
    seen.loaded.some((u) => u.endsWith('/dist/app.js')),
    `the hook saw the host's imports: ${seen.loaded.join(', ')}`,
  );
  assert.deepEqual(
    seen.loaded.filter((u) =>
      /node_modules\/(?:croner|ms|fastest-levenshtein)\/|\/dist\/dashboard\/(?:handler|api|live|stats|assets|login-page|reuse)\.js$/.test(
        u,
      ),
    ),
    [],
    'modules the quick start never uses, loaded by the host before its first result',
  );
});
