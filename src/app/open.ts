// Opening an app: check the options, find the task modules, then discover their tasks
// (the pool's own worker threads importing them: one that start() adopts, or with `start` all) while
// the backend opens (the file backend reads its journal meanwhile). What it returns is
// what the facade composes; nothing of it is half-open if it throws.
import { allSchedules } from '../schedule/registry.js';
import type { ScheduleEntry } from '../schedule/types.js';
import { resolve } from 'node:path';
import { openBackend } from '../backend/open.js';
import type { Backend, BackendContext } from '../backend/types.js';
import { assertDataDirUsable } from '../data-dir.js';
import { CeleriacError } from '../errors.js';
import { JobEvents } from '../events.js';
import { JobLog, plainLogger, sinkOf, type Logger } from '../log.js';
import { WorkerPool } from '../pool/pool.js';
import type { PluginRef } from '../registry/types.js';
import { assertNoProblems, findTaskModules } from '../registry/discover.js';
import { resolvePlugin } from '../registry/plugins.js';
import { checkKnownKeys, isPlainObject } from '../validate.js';
import { OPTION_KEYS, resolveOption, resolveSettings, type CeleriacOptions, type Settings } from './options.js';
import { TaskRegistry } from './registry.js';
import { HotReload } from './reload.js';

/** What the backend reaches the app for, once the app exists. */
export interface AppHooks {
  stopOnFailure(err: CeleriacError): void;
  assertOpen(): void;
  isClosing(): boolean;
  /** A reload brought new schedules. */
  updateSchedules(entries: ScheduleEntry[]): Promise<void>;
}

export interface OpenedApp {
  /** The data dir (absolute). */
  dir: string;
  settings: Settings;
  log: Logger;
  plugins: PluginRef[];
  pool: WorkerPool;
  registry: TaskRegistry;
  events: JobEvents;
  backend: Backend;
  /** With `watch: true`. */
  reload: HotReload | undefined;
  /** The periodic schedules: the modules' and the `schedules` option's. */
  schedules: ScheduleEntry[];
  /** The `schedules` option's alone (a reload brings the modules' anew). */
  fixedSchedules: ScheduleEntry[];
}

export function openAborted(): CeleriacError {
  return new CeleriacError(
    'APP_CLOSED',
    'createCeleriac(): aborted (its signal fired) while the app was opening; jobs that had started finished or were given back',
  );
}

/** Everything up to the backend's load(); `host.app` is set by the caller once the app exists. */
export async function openApp(options: CeleriacOptions, host: { app?: AppHooks }): Promise<OpenedApp> {
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
  const events = new JobEvents(log);
  let registry: TaskRegistry | undefined;
  const ctx: BackendContext = {
    pool,
    task: (name) => registry?.get(name),
    unknownTask: (name) => registry!.unknown(name),
    log,
    ...(logJobs ? { jobLog: new JobLog(sink) } : {}),
    capacity: pool.capacity,
    prefetch: settings.prefetch,
    ...(settings.queues ? { queues: settings.queues } : {}),
    resultTtlMs: settings.resultTtlMs,
    timeoutGraceMs: settings.timeoutGraceMs,
    emit: (event) => events.emit(event),
    wants: (type) => events.wants(type),
    fail: (err) => host.app?.stopOnFailure(err),
    assertOpen: () => host.app?.assertOpen(),
  };
  const [discovery, backend] = await Promise.allSettled([
    start ? pool.start() : pool.discover(),
    openBackend({ dir, compactAfterBytes: settings.compactAfterBytes, queue, ...(broker ? { broker } : {}) }, ctx),
  ]);
  const abandon = async () => {
    try {
      await pool.close();
    } finally {
      if (backend.status === 'fulfilled') await backend.value.close(() => Date.now());
    }
  };
  if (discovery.status === 'rejected' || backend.status === 'rejected') {
    await abandon();
    throw discovery.status === 'rejected' ? discovery.reason : (backend as PromiseRejectedResult).reason;
  }
  let schedules: ScheduleEntry[];
  try {
    assertNoProblems(discovery.value.problems);
    schedules = allSchedules(discovery.value.schedules, fixedSchedules, discovery.value.tasks);
  } catch (err) {
    await abandon();
    throw err;
  }
  for (const p of discovery.value.problems) log.warn(p.message);
  registry = new TaskRegistry(discovery.value.tasks, modules);
  const reload = settings.watch
    ? new HotReload({
        taskPaths,
        cwd,
        files: discovery.value.modules.map((m) => m.file),
        plugins,
        dataDir: dir,
        pool,
        registry,
        log,
        closing: () => host.app?.isClosing() ?? false,
        fixedSchedules,
        onSchedules: (s) => host.app?.updateSchedules(s) ?? Promise.resolve(),
      })
    : undefined;
  return { dir, settings, log, plugins, pool, registry, events, backend: backend.value, reload, schedules, fixedSchedules };
}
