// The first part of opening an app: check the options, find the task modules and start
// the worker thread that discovers their tasks (with `start`, the pool's threads). It
// imports only what that needs, so that createCeleriac() can start the thread while the
// rest of the host's machinery (store, scheduler, socket, dashboard) is still being imported.
import { resolve } from 'node:path';
import { assertDataDirUsable } from '../data-dir.js';
import { CeleriacError } from '../errors.js';
import { plainLogger, sinkOf, type Logger, type LogSink } from '../log.js';
import type { WorkerReady } from '../pool/pool-worker.js';
import { WorkerPool } from '../pool/pool.js';
import { findTaskModules } from '../registry/discover.js';
import { resolvePlugin } from '../registry/plugins.js';
import type { PluginRef } from '../registry/types.js';
import type { ScheduleEntry } from '../schedule/types.js';
import { checkKnownKeys, isPlainObject } from '../validate.js';
import { OPTION_KEYS, type Resolved, resolveOption, resolveSettings, type CeleriacOptions, type Settings } from './options.js';

/** What the first part of an open found and started; openApp() goes on from it. */
export interface BegunOpen {
  settings: Settings;
  cwd: string;
  broker: Resolved<'broker'>;
  queue: Resolved<'queue'>;
  /** The data dir (absolute; '' with a broker and no dir). */
  dir: string;
  taskPaths: string[];
  plugins: PluginRef[];
  fixedSchedules: ScheduleEntry[];
  logJobs: boolean;
  sink: LogSink;
  log: Logger;
  modules: string[];
  pool: WorkerPool;
  /** The discovering thread's report (with `start`, the first pool thread's). */
  discovery: Promise<WorkerReady>;
}

export function openAborted(): CeleriacError {
  return new CeleriacError(
    'APP_CLOSED',
    'createCeleriac(): aborted (its signal fired) while the app was opening; jobs that had started finished or were given back',
  );
}

export async function beginOpen(options: CeleriacOptions): Promise<BegunOpen> {
  if (!isPlainObject(options))
    throw new CeleriacError('INVALID_CONFIG', 'createCeleriac(options): options must be an object with at least { dir, tasks }');
  checkKnownKeys(options, OPTION_KEYS, 'INVALID_CONFIG', 'createCeleriac()');
  const settings = resolveSettings(options);
  const cwd = resolveOption(options, 'cwd');
  const broker = resolveOption(options, 'broker');
  if (!broker && options.queue !== undefined)
    throw new CeleriacError(
      'INVALID_CONFIG',
      'createCeleriac(): "queue" names a BullMQ queue and needs "broker" (redis://… or postgres://…)',
    );
  const queue = resolveOption(options, 'queue');
  if (!broker && (typeof options.dir !== 'string' || options.dir === ''))
    throw new CeleriacError(
      'INVALID_CONFIG',
      'createCeleriac(): "dir" (the data dir) is required, or "broker" (a redis:// or postgres:// URL)',
    );
  const dirOption = resolveOption(options, 'dir');
  const taskPaths = resolveOption(options, 'tasks');
  const pluginNames = resolveOption(options, 'plugins');
  const start = resolveOption(options, 'start');
  const signal = resolveOption(options, 'signal');
  if (signal?.aborted) throw openAborted();
  const plugins = pluginNames.map((name) => resolvePlugin(name, cwd));
  const fixedSchedules = resolveOption(options, 'schedules') ?? [];
  const logJobs = resolveOption(options, 'logJobs');
  const sink = sinkOf(resolveOption(options, 'logger'));
  const log = plainLogger(sink);
  // With a broker the data dir holds nothing of celeriac's: it is not required.
  const dir = dirOption === undefined ? '' : resolve(cwd, dirOption);
  if (!broker) await assertDataDirUsable(dir, 'createCeleriac(): "dir"');
  const modules = await findTaskModules(taskPaths, cwd);
  const pool = new WorkerPool({
    modules,
    plugins,
    size: settings.concurrency,
    concurrency: settings.workerConcurrency,
    timeoutGraceMs: settings.timeoutGraceMs,
    maxResultBytes: settings.maxResultBytes,
    maxWorkerLosses: settings.maxWorkerLosses,
    ...(settings.maxMemoryMb ? { resourceLimits: { maxOldGenerationSizeMb: settings.maxMemoryMb } } : {}),
    onEvent: (m) => log.warn(m),
    spares: settings.watch,
  });
  const discovery = start ? pool.start() : pool.discover();
  discovery.catch(() => undefined); // openApp() hears of a failure; it may still be importing meanwhile
  return { settings, cwd, broker, queue, dir, taskPaths, plugins, fixedSchedules, logJobs, sink, log, modules, pool, discovery };
}
