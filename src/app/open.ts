// Opening an app: check the options, find the task modules, then discover their tasks
// (the pool's own worker threads importing them: one that start() adopts, or with `start` all) while
// the backend opens (the file backend reads its journal meanwhile). What it returns is
// what the facade composes; nothing of it is half-open if it throws.
import { allSchedules } from '../schedule/registry.js';
import type { ScheduleEntry } from '../schedule/types.js';
import { openBackend } from '../backend/open.js';
import type { Backend, BackendContext } from '../backend/types.js';
import type { CeleriacError } from '../errors.js';
import { JobEvents } from '../events.js';
import { JobLog, type Logger } from '../log.js';
import type { WorkerPool } from '../pool/pool.js';
import type { PluginRef } from '../registry/types.js';
import { assertNoProblems } from '../registry/discover.js';
import { beginOpen, type BegunOpen } from './begin-open.js';
import type { CeleriacOptions, Settings } from './options.js';
import { TaskRegistry } from './registry.js';
import type { HotReload } from './reload.js';

export { openAborted } from './begin-open.js';

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

/**
 * Everything up to the backend's load(); `host.app` is set by the caller once the app
 * exists. `begun`: the first part, already done by createCeleriac() (begin-open.ts).
 */
export async function openApp(options: CeleriacOptions, host: { app?: AppHooks }, begun?: BegunOpen): Promise<OpenedApp> {
  const {
    settings,
    cwd,
    broker,
    queue,
    dir,
    taskPaths,
    plugins,
    fixedSchedules,
    logJobs,
    sink,
    log,
    modules,
    pool,
    discovery: discovering,
  } = await (begun ?? beginOpen(options));
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
    discovering,
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
  let HotReloadOf: typeof HotReload | undefined;
  try {
    assertNoProblems(discovery.value.problems);
    schedules = allSchedules(discovery.value.schedules, fixedSchedules, discovery.value.tasks);
    // File watching (chokidar) loads only for an app that watches.
    if (settings.watch) HotReloadOf = (await import('./reload.js')).HotReload;
  } catch (err) {
    await abandon();
    throw err;
  }
  for (const p of discovery.value.problems) log.warn(p.message);
  registry = new TaskRegistry(discovery.value.tasks, modules);
  const reload = HotReloadOf
    ? new HotReloadOf({
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
