// `celeriac schedules`: each periodic schedule with its last and next run, read without
// owning the data dir (a worker may be running): schedules from the task modules (a
// throwaway worker thread imports them) and the config; last runs from the marks.
import type { PluginRef } from '../../registry/types.js';
import { discoverTasks, findTaskModules } from '../../registry/discover.js';
import { resolvePlugin } from '../../registry/plugins.js';
import { checkSchedule } from '../../schedule/check.js';
import { readMarksReadOnly } from '../../schedule/marks.js';
import { allSchedules } from '../../schedule/registry.js';
import { markKey, parseMark, scheduleInfo } from '../../schedule/scheduler.js';
import { EXIT, needTasks, type Settings } from '../context.js';
import { table } from '../table.js';
import { localAndUtc } from '../when.js';

export async function schedulesCommand(s: Settings, json: boolean): Promise<number> {
  needTasks(s);
  const tasks = s.config.tasks;
  const plugins: PluginRef[] = (s.config.plugins ?? []).map((p) => resolvePlugin(p, s.cwd));
  const found = await discoverTasks(await findTaskModules(typeof tasks === 'string' ? [tasks] : (tasks ?? []), s.cwd), plugins);
  const errors = found.problems.filter((p) => p.kind !== 'empty');
  for (const p of errors) process.stderr.write(`error: ${p.message}\n`);
  if (errors.length) return EXIT.error;
  const fromConfig = Object.entries(s.config.schedules ?? {}).map(([name, o]) =>
    checkSchedule(name, o, { file: `${s.configFile ?? 'the config'} ("schedules")`, line: 0 }),
  );
  const entries = allSchedules(found.schedules, fromConfig, found.tasks);
  const marks = await readMarksReadOnly(s.dir);
  const now = Date.now();
  const infos = entries.map((e) => scheduleInfo(e, parseMark(marks.get(markKey(e.name))), now));
  if (json) {
    console.log(
      JSON.stringify({
        schedules: infos.map((i) => ({ ...i, lastRun: i.lastRun?.toISOString() ?? null, nextRun: i.nextRun?.toISOString() ?? null })),
      }),
    );
    return EXIT.ok;
  }
  if (infos.length === 0) {
    console.log('no schedules: declare one with schedule() in a task module, or under "schedules" in the config');
    return EXIT.ok;
  }
  console.log(
    table(
      ['SCHEDULE', 'TASK', 'WHEN', 'MISSED', 'LAST RUN', 'NEXT RUN'],
      infos.map((i) => [
        i.name,
        i.task,
        i.tz === 'UTC' || i.pattern.startsWith('every') ? i.pattern : `${i.pattern} (${i.tz})`,
        i.missed,
        localAndUtc(i.lastRun) || 'never',
        localAndUtc(i.nextRun) || 'none',
      ]),
    ),
  );
  return EXIT.ok;
}
