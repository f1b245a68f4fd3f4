// A throwaway app project for the example plugins and the deployment files: celeriac
// installed in its node_modules (with its `celeriac` bin), and example packages installed
// the way npm installs a packed package — copied, so that their `import 'celeriac'`
// resolves from the project, as it would in a real app.
//
// The installed celeriac is a stand-in that re-exports the sources under test (through
// tsx), so these tests need no build and never race a rebuild of dist/.
import { execFile } from 'node:child_process';
import { chmod, cp, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT } from './helpers.js';

/** `--import` this to run TypeScript, as `node --import tsx` does. */
export const TSX = import.meta.resolve('tsx');
const TSX_API = import.meta.resolve('tsx/esm/api');

/** The example packages: directory under examples/ → package name. */
export const EXAMPLES = {
  webhooks: 'celeriac-example-webhooks',
  archiver: 'celeriac-example-archiver',
  'archive-flow': 'celeriac-example-archive-flow',
} as const;

/** Where to register the clean-up: a test's context (`t`), or node:test's `{ after }` for a whole file. */
export interface Scope {
  after(fn: () => unknown): void;
}

export async function exampleProject(scope: Scope, examples: (keyof typeof EXAMPLES)[] = [], prefix = 'celeriac-app-'): Promise<string> {
  const project = await mkdtemp(join(tmpdir(), prefix));
  scope.after(() => rm(project, { recursive: true, force: true }));
  const nm = join(project, 'node_modules');
  await writeFile(join(project, 'package.json'), `${JSON.stringify({ name: 'example-app', private: true, type: 'module' }, null, 2)}\n`);

  const pkg = join(nm, 'celeriac');
  await mkdir(pkg, { recursive: true });
  await writeFile(
    join(pkg, 'package.json'),
    JSON.stringify({
      name: 'celeriac',
      version: '0.0.0-test',
      type: 'module',
      exports: { '.': './index.ts' },
      bin: { celeriac: './cli.mjs' },
    }),
  );
  // Relative, with .js: both tsx and tsc map it to src/index.ts.
  await writeFile(join(pkg, 'index.ts'), `export * from ${JSON.stringify(relative(pkg, join(ROOT, 'src', 'index.js')))};\n`);
  const cli = join(pkg, 'cli.mjs');
  await writeFile(
    cli,
    `#!/usr/bin/env node\n// The celeriac command, from the sources under test.\n(await import(${JSON.stringify(TSX_API)})).register();\nawait import(${JSON.stringify(pathToFileURL(join(ROOT, 'src', 'cli', 'main.ts')).href)});\n`,
  );
  await chmod(cli, 0o755);
  await mkdir(join(nm, '.bin'));
  await symlink('../celeriac/cli.mjs', join(nm, '.bin', 'celeriac'));

  for (const name of examples) {
    await cp(join(ROOT, 'examples', name), join(nm, EXAMPLES[name]), {
      recursive: true,
      filter: (src) => !/[/\\](node_modules|\.celeriac[^/\\]*|archive)$/.test(src),
    });
  }
  return project;
}

export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** This process's environment without what node:test and tsx put there for their own children. */
export function childEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  delete env.NODE_TEST_CONTEXT;
  delete env.NODE_OPTIONS;
  return env;
}

/** Run a command to its end (or `timeout` ms, then SIGKILL); never rejects. */
export function run(cmd: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv; timeout?: number }): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(
      cmd,
      args,
      {
        cwd: options.cwd,
        env: options.env ?? childEnv(),
        timeout: options.timeout ?? 60_000,
        killSignal: 'SIGKILL',
        maxBuffer: 16 * 1024 * 1024,
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : null) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** Type-check files of the project as the app would: strict, NodeNext, against the installed packages. */
export async function typecheck(project: string, files: string[]): Promise<Ran> {
  const tsconfig = {
    compilerOptions: {
      target: 'ES2022',
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      lib: ['ES2023'],
      types: ['node'],
      typeRoots: [join(ROOT, 'node_modules', '@types')],
      strict: true,
      noUncheckedIndexedAccess: true,
      noImplicitOverride: true,
      isolatedModules: true,
      verbatimModuleSyntax: true,
      skipLibCheck: true,
      noEmit: true,
    },
    files,
  };
  await writeFile(join(project, 'tsconfig.json'), JSON.stringify(tsconfig, null, 2));
  return run(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], {
    cwd: project,
    timeout: 120_000,
  });
}
