// Finding plugin packages. A plugin is an installed package whose package.json says
// `"celeriac": { "taskImports": "./tasks/index.js" }`: that module exports
// `taskImports(): string[]`, the task modules to load (CKAN's task_imports()). Which
// plugins load is the config's `plugins` list, as CKAN's `ckan.plugins` lists them:
// installing a package must not make its code run in your worker by itself.
// The host only reads package.json files here; calling taskImports() is the worker's job.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { CeleriacError } from '../errors.js';
import type { PluginRef } from './types.js';

/** The directory of an installed package, looked up the way Node looks up node_modules. */
export function packageDir(name: string, from: string): string | undefined {
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dirname(dir) === dir) return undefined;
  }
}

export function resolvePlugin(name: string, cwd: string): PluginRef {
  if (typeof name !== 'string' || name === '')
    throw new CeleriacError('INVALID_CONFIG', `plugins: each entry must be a package name, got ${JSON.stringify(name)}`);
  const dir = packageDir(name, cwd);
  if (!dir)
    throw new CeleriacError(
      'PLUGIN_NOT_FOUND',
      `plugin "${name}" is not installed (looked in node_modules from ${cwd} up): npm install ${name}, or remove it from "plugins"`,
    );
  const pkgFile = join(dir, 'package.json');
  let pkg: { celeriac?: { taskImports?: unknown } };
  try {
    pkg = JSON.parse(readFileSync(pkgFile, 'utf8')) as typeof pkg;
  } catch (err) {
    throw new CeleriacError('PLUGIN_NOT_FOUND', `plugin "${name}": ${pkgFile} is not valid JSON (${(err as Error).message})`);
  }
  const entry = pkg.celeriac?.taskImports;
  if (typeof entry !== 'string' || entry === '') {
    throw new CeleriacError(
      'PLUGIN_NOT_FOUND',
      `plugin "${name}" declares no task modules: add "celeriac": { "taskImports": "./path/to/module.js" } to ${pkgFile}`,
    );
  }
  const file = resolve(dir, entry);
  if (!existsSync(file))
    throw new CeleriacError('PLUGIN_NOT_FOUND', `plugin "${name}": its taskImports module ${file} (from ${pkgFile}) does not exist`);
  return { name, entry: file };
}
