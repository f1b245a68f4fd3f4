// celeriac.config.{ts,mjs,js,json}: the worker's settings in one typed file, found in
// the working directory or given with --config. Paths in it are relative to the file.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { CeleriacConfig } from './define-config.js';
import { CeleriacError } from './errors.js';
import { checkOption, OPTION_KEYS, OPTIONS, type OptionKey } from './app/options.js';
import { fileSite } from './app/option-checks.js';
import { isPlainObject } from './validate.js';

/** How long a config module may take to load (its top-level await included). */
const LOAD_TIMEOUT_MS = 30_000;

export { defineConfig, type CeleriacConfig } from './define-config.js';

export const CONFIG_FILES = [
  'celeriac.config.ts',
  'celeriac.config.mts',
  'celeriac.config.mjs',
  'celeriac.config.js',
  'celeriac.config.json',
];

/** The keys a config file may set, in the table's order (messages list them so). */
const FILE_KEYS = OPTION_KEYS.filter((key) => OPTIONS[key].inFile);

/** A file names its schedules' tasks: the host never imports task code. */
function tasksByName(schedules: unknown, where: string): void {
  if (!isPlainObject(schedules)) return;
  for (const [name, options] of Object.entries(schedules as object)) {
    const task: unknown = isPlainObject(options) ? (options as { task?: unknown }).task : '';
    if (typeof task !== 'string')
      throw new CeleriacError(
        'INVALID_SCHEDULE',
        `schedule(${JSON.stringify(name)}) at ${where}: "task" must be a task name in a config file (the host never imports task code), got ${typeof task}`,
      );
  }
}

/** Check every key and type; the error names the file and the key. */
export function validateConfig(config: unknown, where: string): CeleriacConfig {
  if (!isPlainObject(config)) {
    throw new CeleriacError('INVALID_CONFIG', `${where}: the config must be a plain object (export default defineConfig({ ... }))`);
  }
  if (Object.hasOwn(config as object, '__proto__')) {
    throw new CeleriacError(
      'INVALID_CONFIG',
      `${where}: the key "__proto__" is not allowed in a config (it would set the object's prototype): remove it`,
    );
  }
  for (const [key, value] of Object.entries(config as object)) {
    if (!(FILE_KEYS as string[]).includes(key))
      throw new CeleriacError('INVALID_CONFIG', `${where}: unknown key "${key}" (known keys: ${FILE_KEYS.join(', ')})`);
    if (value === undefined) continue;
    if (key === 'schedules') tasksByName(value, where);
    checkOption(key as OptionKey, value, fileSite(where, key));
  }
  return config as CeleriacConfig;
}

/**
 * The module's namespace, or an error when its loading cannot finish: a top-level await
 * that nothing left in the process can settle (the event loop empties and the process
 * would exit 0 without a word), or one still waiting after LOAD_TIMEOUT_MS.
 */
function settles(loading: Promise<unknown>, file: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const done = () => {
      clearTimeout(timer);
      process.off('beforeExit', onEmptyLoop);
    };
    const fail = (why: string) => {
      done();
      reject(new CeleriacError('INVALID_CONFIG', `config file ${file} did not finish loading: ${why}. Check its top-level await.`));
    };
    function onEmptyLoop(): void {
      fail('its top-level await never settles (nothing is left that could settle it)');
    }
    // Unref'd: a config waiting on nothing must not be kept alive by this timer (beforeExit catches it).
    timer = setTimeout(() => fail(`still loading after ${LOAD_TIMEOUT_MS / 1000} s`), LOAD_TIMEOUT_MS);
    timer.unref();
    process.on('beforeExit', onEmptyLoop);
    loading.then(
      (v) => {
        done();
        resolve(v);
      },
      (err: unknown) => {
        done();
        reject(err);
      },
    );
  });
}

export interface LoadedConfig {
  config: CeleriacConfig;
  /** The file it came from (undefined: no config file, defaults only). */
  file: string | undefined;
  /** Relative paths in the config are resolved against this directory. */
  baseDir: string;
}

/** Find and load the config: `path` if given, else the first celeriac.config.* in `cwd`. */
export async function loadConfig({ path, cwd = process.cwd() }: { path?: string; cwd?: string } = {}): Promise<LoadedConfig> {
  let file: string | undefined;
  if (path !== undefined) {
    file = resolve(cwd, path);
    if (!existsSync(file)) throw new CeleriacError('INVALID_CONFIG', `config file ${file} does not exist`);
  } else {
    file = CONFIG_FILES.map((f) => resolve(cwd, f)).find((f) => existsSync(f));
  }
  if (!file) return { config: {}, file: undefined, baseDir: cwd };
  let raw: unknown;
  try {
    if (file.endsWith('.json')) {
      raw = JSON.parse(readFileSync(file, 'utf8'));
    } else {
      const url = pathToFileURL(file).href;
      const loading = /\.[cm]?ts$/.test(file) ? (await import('tsx/esm/api')).tsImport(url, import.meta.url) : import(url);
      const mod = (await settles(loading, file)) as { default?: unknown };
      raw = mod.default;
      // A .ts config in a package without "type": "module" is compiled to CommonJS by tsx, so
      // its `export default` arrives one level down (module.exports.default): unwrap it, or
      // validation would report an unknown key "default".
      if (raw !== null && typeof raw === 'object' && Object.keys(raw).length === 1 && 'default' in raw)
        raw = (raw as { default: unknown }).default;
    }
  } catch (err) {
    if (err instanceof CeleriacError) throw err;
    throw new CeleriacError('INVALID_CONFIG', `config file ${file} could not be loaded: ${(err as Error).message}`);
  }
  return { config: validateConfig(raw, file), file, baseDir: dirname(file) };
}
