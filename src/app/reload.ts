// Hot reload (watch: true): watch the task modules and plugin modules; on a change a new
// worker generation loads the new code and the registry takes its tasks, while running
// jobs finish on the old one. Code that does not load cleanly leaves the old one serving.
import { resolve } from 'node:path';
import type { Logger } from '../log.js';
import type { WorkerPool } from '../pool/pool.js';
import type { PluginRef } from '../registry/types.js';
import { findTaskModules } from '../registry/discover.js';
import { TaskWatcher } from '../watch.js';
import type { TaskRegistry } from './registry.js';
import { allSchedules } from '../schedule/registry.js';
import type { ScheduleEntry } from '../schedule/types.js';

export interface HotReloadOptions {
  /** The task paths as configured, resolved against `cwd` on each reload (files may come and go). */
  taskPaths: string[];
  cwd: string;
  /** The module files the workers imported at the open (those outside the task paths too). */
  files: string[];
  plugins: PluginRef[];
  /** Never watched (the data dir, when it lies inside a task directory). */
  dataDir: string;
  pool: WorkerPool;
  registry: TaskRegistry;
  log: Logger;
  /** The app is closing: a reload that finishes now changes nothing. */
  closing: () => boolean;
  /** Schedules from the `schedules` option, checked with the modules' on each reload. */
  fixedSchedules: ScheduleEntry[];
  /** The schedules after a reload (the scheduler applies them). */
  onSchedules: (entries: ScheduleEntry[]) => Promise<void>;
}

export class HotReload {
  private watcher: TaskWatcher | undefined;

  constructor(private readonly o: HotReloadOptions) {}

  /** Begin watching; resolves once the watcher is ready. */
  async watch(): Promise<void> {
    const o = this.o;
    this.watcher = new TaskWatcher({
      paths: [...o.taskPaths.map((p) => resolve(o.cwd, p)), ...o.plugins.map((p) => p.entry), ...o.files],
      exclude: o.dataDir ? [o.dataDir] : [],
      onChange: () => this.reload(),
      onError: (err) => o.log.error(`watching the task modules: ${err.message}`),
    });
    await this.watcher.ready;
  }

  /** Load the code on disk now in a new worker generation; if it does not load cleanly, the old one keeps serving. */
  private async reload(): Promise<void> {
    const { taskPaths, cwd, log } = this.o;
    const began = Date.now();
    let modules: string[];
    try {
      modules = await findTaskModules(taskPaths, cwd); // files added or removed
    } catch (err) {
      log.error(`reload: ${(err as Error).message}; the previous code keeps running`);
      return;
    }
    const result = await this.o.pool.reload(modules, this.o.plugins);
    if (this.o.closing()) return;
    if (!result.ok) {
      for (const p of result.problems) if (p.kind !== 'empty') log.error(p.message);
      log.error(`reload failed${result.error ? ` (${result.error})` : ''}: the previous code keeps running; save a fix to try again`);
      return;
    }
    let schedules: ScheduleEntry[] | undefined;
    try {
      schedules = allSchedules(result.schedules, this.o.fixedSchedules, result.tasks);
    } catch (err) {
      log.error(`reload: the new code runs, but the previous schedules stay (${(err as Error).message}); save a fix to try again`);
    }
    for (const p of result.problems) log.warn(p.message);
    const { added, removed } = this.o.registry.replace(result.tasks, modules);
    if (schedules) await this.o.onSchedules(schedules);
    this.watcher?.add(result.modules.map((m) => m.file));
    const changes = [added.length ? `added ${added.join(', ')}` : '', removed.length ? `removed ${removed.join(', ')}` : '']
      .filter(Boolean)
      .join('; ');
    log.info(`reloaded the task modules in ${Date.now() - began} ms (${result.tasks.length} tasks${changes ? `; ${changes}` : ''})`);
  }

  async close(): Promise<void> {
    await this.watcher?.close();
  }
}
