// The schedules of one load, checked against the tasks it defines: names unique (a
// duplicate names both places), every schedule's task known and given arguments it
// accepts. Each problem is reported like a task module's, naming where it was declared.
import { CeleriacError } from '../errors.js';
import type { ModuleProblem, TaskManifestEntry } from '../registry/types.js';
import { checkArgCount, unknownTaskError } from '../registry/task-errors.js';
import type { ScheduleEntry } from './types.js';

const at = (e: ScheduleEntry) => (e.line > 0 ? `${e.file}:${e.line}` : e.file);

/** The schedules that pass; a problem for each one that does not. */
export function checkSchedules(entries: ScheduleEntry[], tasks: TaskManifestEntry[], problems: ModuleProblem[]): ScheduleEntry[] {
  const byName = new Map<string, ScheduleEntry>();
  const taskByName = new Map(tasks.map((t) => [t.name, t]));
  for (const e of entries) {
    const seen = byName.get(e.name);
    if (seen) {
      if (seen.file !== e.file || seen.line !== e.line) {
        problems.push({
          kind: 'schedule',
          file: e.file,
          message: `schedule name "${e.name}" is declared twice: ${at(seen)} and ${at(e)}. Schedule names must be unique: rename one of them.`,
        });
      }
      continue;
    }
    const task = taskByName.get(e.task);
    try {
      if (!task) throw unknownTaskError(e.task, taskByName.keys(), []);
      checkArgCount(task, JSON.parse(e.args) as unknown[], 'schedule');
    } catch (err) {
      problems.push({ kind: 'schedule', file: e.file, message: `schedule("${e.name}") at ${at(e)}: ${(err as Error).message}` });
      continue;
    }
    byName.set(e.name, e);
  }
  return [...byName.values()];
}

/** The module schedules plus the config's, or an error listing every problem (nothing is sent then). */
export function allSchedules(fromModules: ScheduleEntry[], fromConfig: ScheduleEntry[], tasks: TaskManifestEntry[]): ScheduleEntry[] {
  const problems: ModuleProblem[] = [];
  const all = checkSchedules([...fromModules, ...fromConfig], tasks, problems);
  if (problems.length) throw new CeleriacError('INVALID_SCHEDULE', problems.map((p) => p.message).join('\n'));
  return all;
}
