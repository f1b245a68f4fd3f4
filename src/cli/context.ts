// What every command needs: the parsed flags, merged over the config file, and the
// exit codes the README documents.
import { resolve } from 'node:path';
import { CeleriacError } from '../errors.js';
import { loadConfig, type CeleriacConfig } from '../config.js';
import { assertDataDirUsable } from '../data-dir.js';
import { MAX_CONCURRENCY } from '../limits.js';
import { parseQueuesFlag } from '../queues.js';

export const EXIT = { ok: 0, error: 1, usage: 2, notFound: 3, testFailed: 4, notCancelled: 5 } as const;

export class UsageError extends Error {}

export interface Flags {
  config?: string;
  dir?: string;
  broker?: string;
  queue?: string;
  tasks?: string[];
  plugin?: string[];
  concurrency?: string;
  'worker-concurrency'?: string;
  queues?: string;
  prefetch?: string;
  'result-ttl'?: string;
  'shutdown-timeout'?: string;
  'max-memory-mb'?: string;
  watch?: boolean;
  json?: boolean;
}

export interface Settings {
  config: CeleriacConfig;
  configFile: string | undefined;
  /** Base for relative paths: the config file's directory, else the working directory. */
  cwd: string;
  dir: string;
}

function int(flag: string, value: string | undefined, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${flag} must be an integer ≥ 1, got "${value}"`);
  if (n > max) throw new UsageError(`--${flag} must be at most ${max}, got "${value}"`);
  return n;
}

function seconds(flag: string, value: string | undefined): number | string | undefined {
  if (value === undefined) return undefined;
  return /^\d+(\.\d+)?$/.test(value) ? Number(value) : value;
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
  if (flags.tasks?.length) config.tasks = flags.tasks.map((p) => resolve(here, p));
  if (flags.plugin?.length) config.plugins = flags.plugin;
  if (flags.dir !== undefined) config.dir = resolve(here, flags.dir);
  const set = <K extends keyof CeleriacConfig>(key: K, value: CeleriacConfig[K] | undefined) => {
    if (value !== undefined) config[key] = value;
  };
  set('concurrency', int('concurrency', flags.concurrency, MAX_CONCURRENCY));
  set('workerConcurrency', int('worker-concurrency', flags['worker-concurrency']));
  set('prefetch', int('prefetch', flags.prefetch));
  set('resultTtl', seconds('result-ttl', flags['result-ttl']));
  set('shutdownTimeout', seconds('shutdown-timeout', flags['shutdown-timeout']));
  set('maxMemoryMb', int('max-memory-mb', flags['max-memory-mb']));
  if (flags.queues !== undefined) config.queues = parseQueuesFlag(flags.queues);
  if (flags.watch) config.watch = true;
  if (flags.broker !== undefined) config.broker = flags.broker;
  if (flags.queue !== undefined) config.queue = flags.queue;
  const dir = config.dir ?? resolve(base, '.celeriac');
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
