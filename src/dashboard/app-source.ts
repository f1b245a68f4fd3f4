// The dashboard's source for an app in this process: the app's public facade, nothing more.
import type { Celeriac } from '../app.js';
import type { DashboardSource, ScheduleInfo } from './types.js';

/** Periodic tasks, when the app has them: read through whatever shape the app exposes. */
interface MaybeSchedules {
  schedules?: unknown;
  runSchedule?: (name: string) => Promise<unknown>;
}

export function appSource(app: Celeriac): DashboardSource {
  const source: DashboardSource = {
    list: (options) => app.list(options),
    get: async (id) => await app.get(id),
    counts: async () => await app.counts(),
    cancel: (id) => app.cancel(id),
    send: async (task, args) => (await app.send(task, args as never)).id,
    forget: (id) => app.forget(id),
    tasks: () => app.tasks,
    recovery: () => app.recovery,
    workers: () => app.workers(),
    on: (type, listener) => void app.on(type, listener),
    off: (type, listener) => void app.off(type, listener),
  };
  const extra = app as unknown as MaybeSchedules;
  if (extra.schedules !== undefined) {
    source.schedules = async () => {
      const s = typeof extra.schedules === 'function' ? await (extra.schedules as () => unknown).call(app) : extra.schedules;
      // app.schedules names its times lastRun / nextRun.
      const list = Array.isArray(s) ? (s as (ScheduleInfo & { lastRun?: Date; nextRun?: Date })[]) : [];
      return list.map(({ lastRun, nextRun, ...rest }) => ({
        ...rest,
        ...((rest.next ?? nextRun) ? { next: rest.next ?? nextRun } : {}),
        ...((rest.last ?? lastRun) ? { last: rest.last ?? lastRun } : {}),
      }));
    };
  }
  if (typeof extra.runSchedule === 'function') {
    const run = extra.runSchedule.bind(app);
    source.runSchedule = async (name) => {
      const r = (await run(name)) as { id?: string } | string | undefined;
      return typeof r === 'string' ? r : (r?.id ?? '');
    };
  }
  return source;
}
