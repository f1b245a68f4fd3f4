// What users get: the package as `npm pack` makes it, installed from the tarball into a
// fresh project, used from a plain .mjs script with a .ts and a .js task module.
// Needs the npm registry (the tarball's dependencies are installed from it).
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { cp, mkdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { ROOT, tempDir } from './helpers.js';

const run = promisify(execFile);
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';

async function sh(cmd: string, args: string[], cwd: string, timeout: number): Promise<string> {
  try {
    const { stdout } = await run(cmd, args, {
      cwd,
      timeout,
      maxBuffer: 16 * 1024 * 1024,
      env: { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' },
    });
    return stdout;
  } catch (err) {
    const e = err as Error & { stdout?: string; stderr?: string };
    throw new Error(
      `${cmd} ${args.join(' ')} (in ${cwd}) failed: ${e.message}\n--- stdout ---\n${e.stdout ?? ''}\n--- stderr ---\n${e.stderr ?? ''}`,
    );
  }
}

const exists = (p: string) =>
  stat(p).then(
    () => true,
    () => false,
  );

const TS_TASKS = `import { task } from 'celeriac';

interface Greeting { text: string; lang: 'ts' }

export const greet = task('pack.greet', (name: string): Greeting => ({ text: \`hello \${name}\`, lang: 'ts' }));
`;

const JS_TASKS = `import { context, task } from 'celeriac';

export const sum = task('pack.sum', (...xs) => ({ total: xs.reduce((a, b) => a + b, 0), lang: 'js', attempt: context().attempt }));
export const fail = task('pack.fail', () => {
  throw new Error('on purpose');
});
`;

const MAIN = `import { CeleriacError, createCeleriac, TaskFailedError } from 'celeriac';

const app = await createCeleriac({ dir: '.celeriac', tasks: ['./tasks'], concurrency: 1, logger: false });
await app.start();
const greet = await app.send('pack.greet', ['world']);
const sum = await app.send('pack.sum', [1, 2, 3]);
const out = {
  tasks: app.tasks.map((t) => t.name).filter((n) => !n.startsWith('celeriac.')).sort(),
  greet: await greet.result({ timeout: 30 }),
  sum: await sum.result({ timeout: 30 }),
  failedErrorExported: typeof TaskFailedError === 'function',
};
// Errors made in the package's lazily loaded parts are the classes the user imports.
try {
  await (await app.send('pack.fail', [], { maxRetries: 0 })).result({ timeout: 30 });
} catch (err) {
  out.failureIsTaskFailedError = err instanceof TaskFailedError;
}
try {
  await app.send('pack.nope', []);
} catch (err) {
  out.unknownTaskIsCeleriacError = err instanceof CeleriacError && err.code;
}
await app.close();

// A .js-only app: no TypeScript loader involved at all.
const jsOnly = await createCeleriac({ dir: '.celeriac-js', tasks: ['./tasks/sum.js'], concurrency: 1, logger: false });
await jsOnly.start();
const again = await jsOnly.send('pack.sum', [10, 20]);
out.jsOnly = { tasks: jsOnly.tasks.map((t) => t.name).filter((n) => !n.startsWith('celeriac.')), sum: await again.result({ timeout: 30 }) };
await jsOnly.close();
console.log('RESULT ' + JSON.stringify(out));
`;

// Type-checked against the installed .d.ts: a typed send compiles, a wrong argument does not.
const TYPED = `import { createCeleriac, type JobHandle } from 'celeriac';
import { greet } from './tasks/greet.js';

const app = await createCeleriac({ dir: '.celeriac-typed', tasks: ['./tasks'] });
const handle: JobHandle<{ text: string; lang: 'ts' }> = await greet.send(app, ['typed']);
// @ts-expect-error greet takes a string
await greet.send(app, [42]);
export { handle };
`;

test('the packed tarball installs into a fresh project and runs .ts and .js task modules', { timeout: 600_000 }, async (t) => {
  const tmp = await tempDir(t, 'celeriac-pack-');

  // Build and pack from a copy, so the repo's own dist/ is never rebuilt under another test's feet.
  const stage = join(tmp, 'stage');
  await mkdir(stage);
  for (const f of ['package.json', 'README.md', 'tsconfig.json', 'tsconfig.build.json']) {
    if (await exists(join(ROOT, f))) await cp(join(ROOT, f), join(stage, f));
  }
  await cp(join(ROOT, 'src'), join(stage, 'src'), { recursive: true });
  // The build's second step (package.json's build script) bundles the package's modules.
  await mkdir(join(stage, 'scripts'));
  await cp(join(ROOT, 'scripts', 'bundle.mjs'), join(stage, 'scripts', 'bundle.mjs'));
  await symlink(join(ROOT, 'node_modules'), join(stage, 'node_modules'), 'dir');
  // No `npm run build` first: packing builds dist/ itself (prepack), as `npm publish` does.
  const packOut = await sh(NPM, ['pack', '--json', '--pack-destination', tmp], stage, 180_000);
  const packed = JSON.parse(packOut.slice(packOut.indexOf('\n[') + 1)) as Array<{ filename: string; files: Array<{ path: string }> }>;
  const tarball = join(tmp, packed[0]!.filename);
  const packedFiles = packed[0]!.files.map((f) => f.path);
  assert.ok(packedFiles.includes('dist/index.js'));
  assert.ok(packedFiles.includes('dist/index.d.ts'));
  assert.ok(packedFiles.includes('dist/pool/thread/worker.js'), 'the worker entry ships');
  assert.ok(packedFiles.includes('dist/THIRD-PARTY-LICENSES.txt'), 'the licenses of the packages bundled into dist ship');
  // The sources ship beside dist/ so that its source maps (stack traces, task file:line) point at real files.
  assert.ok(packedFiles.includes('src/index.ts') && packedFiles.includes('dist/index.js.map'), 'sources and source maps ship');
  assert.ok(
    !packedFiles.some((p) => p.startsWith('test/') || p.startsWith('bench/') || p.startsWith('examples/')),
    'tests, bench and examples stay out of the tarball',
  );

  const project = join(tmp, 'project');
  await mkdir(project);
  await sh(NPM, ['init', '-y'], project, 60_000);
  const pkgPath = join(project, 'package.json');
  const pkg = JSON.parse(await readFile(pkgPath, 'utf8')) as Record<string, unknown>;
  pkg.type = 'module';
  await writeFile(pkgPath, JSON.stringify(pkg, null, 2));
  // The registry serves the tarball's dependencies: allow for a slow network.
  await sh(NPM, ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball], project, 420_000);

  const installed = join(project, 'node_modules', 'celeriac');
  // Bundled into dist: not installed, so the quick start below runs on the bundled copies.
  const bundled = ['lowdb', 'p-queue', 'p-retry', 'tinyqueue'];
  assert.deepEqual(
    (await Promise.all(bundled.map(async (name) => ((await exists(join(project, 'node_modules', name))) ? name : undefined)))).filter(
      Boolean,
    ),
    [],
    'packages bundled into dist are not installed with celeriac',
  );
  assert.ok(await exists(join(installed, 'dist', 'index.d.ts')), 'node_modules/celeriac/dist/index.d.ts exists');
  assert.ok(await exists(join(installed, 'dist', 'index.js')));
  // An install script (prepare included) makes `npm i celeriac-*.tgz` warn about an unapproved script.
  const installedScripts =
    (JSON.parse(await readFile(join(installed, 'package.json'), 'utf8')) as { scripts?: Record<string, string> }).scripts ?? {};
  const installTime = ['preinstall', 'install', 'postinstall', 'prepare'].filter((k) => k in installedScripts);
  assert.deepEqual(installTime, [], 'the installed package runs no script at install time');

  await mkdir(join(project, 'tasks'));
  await writeFile(join(project, 'tasks', 'greet.ts'), TS_TASKS);
  await writeFile(join(project, 'tasks', 'sum.js'), JS_TASKS);
  await writeFile(join(project, 'main.mjs'), MAIN);

  const stdout = await sh(process.execPath, ['main.mjs'], project, 120_000);
  const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
  assert.ok(line, `main.mjs printed its result; stdout was:\n${stdout}`);
  assert.deepEqual(JSON.parse(line.slice('RESULT '.length)), {
    tasks: ['pack.fail', 'pack.greet', 'pack.sum'],
    greet: { text: 'hello world', lang: 'ts' },
    sum: { total: 6, lang: 'js', attempt: 1 },
    failedErrorExported: true,
    failureIsTaskFailedError: true,
    unknownTaskIsCeleriacError: 'UNKNOWN_TASK',
    jsOnly: { tasks: ['pack.sum', 'pack.fail'], sum: { total: 30, lang: 'js', attempt: 1 } },
  });

  // The shipped declarations type a user's task module and its typed send.
  await writeFile(join(project, 'typed.ts'), TYPED);
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  await sh(
    process.execPath,
    [
      tsc,
      '--noEmit',
      '--strict',
      '--target',
      'es2022',
      '--module',
      'nodenext',
      '--moduleResolution',
      'nodenext',
      '--skipLibCheck',
      '--types',
      'node',
      '--typeRoots',
      join(ROOT, 'node_modules', '@types'),
      'typed.ts',
    ],
    project,
    120_000,
  );
});
