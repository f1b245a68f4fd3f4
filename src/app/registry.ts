// The tasks the app knows: what discovery found in the task modules, replaced whole by a
// hot reload. Sends look their task up here; so do jobs handed in by other processes.
import { CeleriacError } from '../errors.js';
import type { TaskManifestEntry } from '../registry/types.js';
import { unknownTaskError } from '../registry/task-errors.js';
import { isTaskDefinition, type TaskDefinition } from '../task.js';

export class TaskRegistry {
  private readonly byName: Map<string, TaskManifestEntry>;

  constructor(
    tasks: TaskManifestEntry[],
    /** The task module files found in the task paths. */
    private moduleFiles: string[],
  ) {
    this.byName = new Map(tasks.map((t) => [t.name, t]));
  }

  get modules(): string[] {
    return this.moduleFiles;
  }

  get tasks(): TaskManifestEntry[] {
    return [...this.byName.values()];
  }

  get(name: string): TaskManifestEntry | undefined {
    return this.byName.get(name);
  }

  /** The UNKNOWN_TASK error for `name`, listing the tasks known and the modules searched. */
  unknown(name: string): CeleriacError {
    return unknownTaskError(name, this.byName.keys(), this.moduleFiles);
  }

  /** The task a send names (by name or definition), or UNKNOWN_TASK. */
  resolve(taskOrDef: string | TaskDefinition): TaskManifestEntry {
    const name = isTaskDefinition(taskOrDef) ? taskOrDef.name : taskOrDef;
    if (typeof name !== 'string')
      throw new CeleriacError('UNKNOWN_TASK', `send(): the task must be a task name (string) or a task definition, got ${typeof name}`);
    const task = this.byName.get(name);
    if (!task) throw this.unknown(name);
    return task;
  }

  /** A reload loaded new code: its tasks replace all of the old ones. Returns the names added and removed. */
  replace(tasks: TaskManifestEntry[], moduleFiles: string[]): { added: string[]; removed: string[] } {
    const before = new Set(this.byName.keys());
    this.byName.clear();
    for (const t of tasks) this.byName.set(t.name, t);
    this.moduleFiles = moduleFiles;
    return {
      added: tasks.filter((t) => !before.has(t.name)).map((t) => t.name),
      removed: [...before].filter((n) => !this.byName.has(n)),
    };
  }
}
