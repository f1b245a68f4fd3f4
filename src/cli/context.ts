// What every command needs: the parsed flags, merged over the config file, and the
// exit codes the README documents.
import { resolve } from 'node:path';
import { CeleriacError } from '../errors.js';
import { loadConfig, type CeleriacConfig } from '../config.js';
import { assertDataDirUsable } from '../data-dir.js';
import { OPTIONS } from '../app/options.js';
import { optionsFromFlags } from './option-flags.js';
import { UsageError } from './usage-error.js';

export const EXIT = { ok: 0, error: 1, usage: 2, notFound: 3, testFailed: 4, notCancelled: 5 } as const;

export { UsageError };

/** The parsed command line: the common flags, the option flags (see option-flags.ts) and the command's own. */
export type Flags = { config?: string; dir?: string; tasks?: string[]; json?: boolean } & Record<string, unknown>;

export interface Settings {
  config: CeleriacConfig;
  configFile: string | undefined;
  /** Base for relative paths: the config file's directory, else the working directory. */
  cwd: string;
  dir: string;
}

/** Config file first, flags over it. Flag paths are relative to the working directory. */
export async function settings(flags: Flags): Promise<Settings> {
  const loaded = await loadConfig(flags.config === undefined ? {} : { path: flags.config });
  const config: CeleriacConfig = { ...loaded.config };
  const here = process.cwd();
  const base = loaded.baseDir;
  // Paths from the config file are relative to it; paths from flags to the working directory.
  if (config.tasks !== undefined)
    config.tasks = (typeof config.tasks === 'string' ? [config.tasks] : config.tasks).map((p) => resolve(base, p));
  if (config.dir !== undefined) config.dir = resolve(base, config.dir);
  Object.assign(config, optionsFromFlags(flags));
  if (flags.tasks?.length) config.tasks = flags.tasks.map((p) => resolve(here, p));
  if (flags.dir !== undefined) config.dir = resolve(here, flags.dir);
  const dir = config.dir ?? resolve(base, OPTIONS.dir.flag.cliDefault);
  // With a broker the jobs are not in the data dir: it is neither checked nor created.
  if (config.broker === undefined)
    await assertDataDirUsable(dir, flags.dir !== undefined ? '--dir' : loaded.file ? `${loaded.file}: "dir"` : 'the default data dir');
  return { config: { ...config, dir }, configFile: loaded.file, cwd: base, dir };
}

export function needTasks(s: Settings): void {
  const tasks = s.config.tasks;
  const count = (typeof tasks === 'string' ? 1 : (tasks?.length ?? 0)) + (s.config.plugins?.length ?? 0);
  if (count === 0) {
    throw new CeleriacError(
      'INVALID_CONFIG',
      `no task modules configured: pass --tasks PATH or --plugin NAME, or write a celeriac.config.ts (looked in ${process.cwd()})`,
    );
  }
}
