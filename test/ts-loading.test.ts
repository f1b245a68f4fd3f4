// How worker threads load TypeScript task modules, seen from a user's process (the built
// package, a plain .mjs script, a fresh process on this test's node): where Node strips
// erasable types itself (≥ 22.18), no thread loads tsx for them; a module that needs a
// transform (an enum, `./x.js` meaning x.ts) still loads, through tsx; and the threads'
// compile cache lives only in a private directory of this user's.
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { lstat, mkdir, readdir, symlink, writeFile } from 'node:fs/promises';
import module from 'node:module';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { DIST_INDEX, ensureBuilt, project } from './cli-helpers.js';
import { tempDir } from './helpers.js';

const run = promisify(execFile);
const nodeStripsTypes = Boolean((process.features as { typescript?: string | false }).typescript);
const hasCompileCache = typeof (module as { enableCompileCache?: unknown }).enableCompileCache === 'function';

// Each task reports whether tsx is registered in its thread: tsx's register() turns
// source maps on, which Node leaves off.
const ERASABLE = `import { task } from ${JSON.stringify(DIST_INDEX)};
interface Greeting { text: string }
export const greet = task('ts.greet', (name: string, greeting?: string): Greeting & { tsx: boolean } => ({ text: \`\${greeting ?? 'hello'} \${name}\`, tsx: process.sourceMapsEnabled }));
`;
const NEEDS_TRANSFORM = `import { task } from ${JSON.stringify(DIST_INDEX)};
import { twice } from './helper.js';
enum Unit { One = 1 }
export const double = task('ts.double', (n: number): { value: number; tsx: boolean } => ({ value: twice(n) * Unit.One, tsx: process.sourceMapsEnabled }));
`;
const HELPER = `export function twice(n: number): number {
  return n * 2;
}
`;
const MAIN = `import { createCeleriac } from ${JSON.stringify(DIST_INDEX)};
const [tasks, dir, name, ...args] = process.argv.slice(2);
const app = await createCeleriac({ dir, tasks: [tasks], concurrency: 1, logger: false });
await app.start();
const result = await (await app.send(name, args.map((a) => (/^\\d+$/.test(a) ? Number(a) : a)))).result();
process.stdout.write(JSON.stringify(result));
await app.close();
`;

async function runTask(
  dir: string,
  tasks: string,
  name: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<Record<string, unknown>> {
  const { stdout } = await run(process.execPath, [join(dir, 'main.mjs'), join(dir, tasks), join(dir, `data-${tasks}`), name, ...args], {
    cwd: dir,
    env,
    timeout: 120_000,
  });
  return JSON.parse(stdout) as Record<string, unknown>;
}

test('an erasable .ts task module loads without tsx where Node strips types (with tsx elsewhere)', { timeout: 240_000 }, async (t) => {
  ensureBuilt();
  const dir = await project(t, { 'main.mjs': MAIN, 'tasks.ts': ERASABLE });
  // The optional parameter (erased to whitespace by stripping) is still optional.
  assert.deepEqual(await runTask(dir, 'tasks.ts', 'ts.greet', ['ada']), { text: 'hello ada', tsx: !nodeStripsTypes });
  assert.deepEqual(await runTask(dir, 'tasks.ts', 'ts.greet', ['ada', 'hi']), { text: 'hi ada', tsx: !nodeStripsTypes });
});

test('a .ts task module that needs a transform (enum, ./x.js meaning x.ts) still loads, through tsx', { timeout: 240_000 }, async (t) => {
  ensureBuilt();
  const dir = await project(t, { 'main.mjs': MAIN, 'tasks.ts': NEEDS_TRANSFORM, 'helper.ts': HELPER });
  assert.deepEqual(await runTask(dir, 'tasks.ts', 'ts.double', ['21']), { value: 42, tsx: true });
});

// A CommonJS task module in TypeScript: require() and exports, with types.
const COMMONJS_TS = `const { task } = require(${JSON.stringify(DIST_INDEX)});
exports.square = task('ts.square', (n: number): { value: number } => ({ value: n * n }));
`;

test('CommonJS TypeScript task modules load: .ts in a package without "type": "module" (import/export or require/exports), and .cts', {
  timeout: 240_000,
}, async (t) => {
  ensureBuilt();
  // As `npm init` leaves a package.json: no "type", so a .ts file is CommonJS to Node and tsx.
  const files = { 'main.mjs': MAIN, 'tasks.ts': ERASABLE, 'commonjs.ts': COMMONJS_TS, 'commonjs.cts': COMMONJS_TS };
  const dir = await project(t, files, { name: 'celeriac-cjs-test', private: true });
  assert.deepEqual(await runTask(dir, 'tasks.ts', 'ts.greet', ['ada', 'hi']), { text: 'hi ada', tsx: !nodeStripsTypes });
  assert.deepEqual(await runTask(dir, 'commonjs.ts', 'ts.square', ['7']), { value: 49 });
  assert.deepEqual(await runTask(dir, 'commonjs.cts', 'ts.square', ['8']), { value: 64 });
  // A link from an ES package's folder loads as its target does: by the real file's package.
  await mkdir(join(dir, 'esm'));
  await writeFile(join(dir, 'esm', 'package.json'), JSON.stringify({ type: 'module' }));
  await symlink(join(dir, 'tasks.ts'), join(dir, 'esm', 'linked.ts'));
  assert.deepEqual(await runTask(dir, 'esm/linked.ts', 'ts.greet', ['bo']), { text: 'hello bo', tsx: !nodeStripsTypes });
  // A failure while loading one names the module's own line, not a frame of the loader's.
  await writeFile(join(dir, 'broken.cts'), `${COMMONJS_TS}const missing: unknown = require('no-such-package-celeriac');\n`);
  await assert.rejects(runTask(dir, 'broken.cts', 'ts.square', ['2']), (err: Error & { stderr?: string }) => {
    assert.match(err.stderr ?? '', /broken\.cts:3:\d+ failed to import: Error: Cannot find module 'no-such-package-celeriac'/);
    return true;
  });
});

const hasRegisterHooks = typeof (module as { registerHooks?: unknown }).registerHooks === 'function';
// A task that reports whether esbuild was loaded in its own thread (tsx transforms in the
// hooks' thread, which loads its own), importing CommonJS TypeScript that require()s more.
const TSX_TRANSFORMED = `import module from 'node:module';
import { task } from ${JSON.stringify(DIST_INDEX)};
import helper from './helper.cts';
enum Unit { One = 1 }
export const triple = task('ts.triple', (n: number) => ({
  value: helper.triple(n) * Unit.One,
  tsx: process.sourceMapsEnabled,
  esbuild: Object.keys(module.createRequire(import.meta.url).cache).some((file) => file.includes('/esbuild/')),
}));
`;
const HELPER_CTS = `const factor: { three: number } = require('./factor.cts');
exports.triple = (n: number): number => n * factor.three;
`;
const FACTOR_CTS = `exports.three = 3 as number;
`;

test("a thread registers tsx's hooks without loading esbuild itself (Node without registerHooks); CommonJS TypeScript still loads", {
  timeout: 240_000,
  skip: hasRegisterHooks
    ? `Node ${process.version} has module.registerHooks: tsx runs its hooks in the thread, through its own API`
    : false,
}, async (t) => {
  ensureBuilt();
  const dir = await project(t, { 'main.mjs': MAIN, 'tasks.ts': TSX_TRANSFORMED, 'helper.cts': HELPER_CTS, 'factor.cts': FACTOR_CTS });
  assert.deepEqual(await runTask(dir, 'tasks.ts', 'ts.triple', ['14']), { value: 42, tsx: true, esbuild: false });
});

test('the threads compile cache is a private dir of this user; a planted link is not followed', {
  timeout: 240_000,
  skip: hasCompileCache ? false : `Node ${process.version} has no compile cache (module.enableCompileCache arrived in 22.1)`,
}, async (t) => {
  ensureBuilt();
  const dir = await project(t, { 'main.mjs': MAIN, 'tasks.ts': ERASABLE });
  const { NODE_COMPILE_CACHE: _usersOwn, ...env } = process.env; // celeriac steps aside for it

  // A fresh TMPDIR: celeriac makes <tmp>/celeriac-<uid>/compile-cache, 0700, and fills it.
  const tmp = await tempDir(t);
  await runTask(dir, 'tasks.ts', 'ts.greet', ['ada'], { ...env, TMPDIR: tmp });
  const cache = join(tmp, `celeriac-${process.getuid!()}`, 'compile-cache');
  for (const d of [join(tmp, `celeriac-${process.getuid!()}`), cache]) {
    const st = await lstat(d);
    assert.ok(st.isDirectory(), `${d} is a directory`);
    assert.equal(st.mode & 0o777, 0o700, `${d} is private`);
  }
  assert.ok((await readdir(cache)).length > 0, 'the threads wrote their compile cache');

  // Another user's trick: <tmp>/celeriac-<uid> planted as a link to a dir of theirs.
  const hostileTmp = await tempDir(t);
  const theirs = join(hostileTmp, 'theirs');
  await mkdir(theirs, { mode: 0o700 });
  await symlink(theirs, join(hostileTmp, `celeriac-${process.getuid!()}`));
  assert.deepEqual(await runTask(dir, 'tasks.ts', 'ts.greet', ['ada'], { ...env, TMPDIR: hostileTmp }), {
    text: 'hello ada',
    tsx: !nodeStripsTypes,
  });
  assert.deepEqual(await readdir(theirs), [], 'nothing was written through the link');
});
