// The JSON API the page reads: overview, jobs (filter, search, pages), one job, tasks,
// schedules, workers; and the actions: cancel, retry as a new job, forget, run a schedule now.
import { CeleriacError } from '../errors.js';
import { FINISHED_STATES, JOB_STATES, type JobState } from '../jobs.js';
import type { JobPage, ListOptions } from '../job-query.js';
import type { JobInfo } from '../send-types.js';
import { Reuse } from './reuse.js';
import type { DashboardStats, TimelineEntry } from './stats.js';
import type { DashboardSource } from './types.js';

/** An answer: status and JSON body. */
export interface Reply {
  status: number;
  body: unknown;
}

const PAGE_LIMIT = 50;
const MAX_PAGE_LIMIT = 500;
/** Jobs an args search reads per request (newest first); `next` continues it. */
const SEARCH_WINDOW = 5000;
const ARGS_PREVIEW = 160;

export function failure(status: number, code: string, message: string): Reply {
  return { status, body: { error: { code, message } } };
}

function fromError(err: unknown): Reply {
  if (err instanceof CeleriacError) {
    const status =
      err.code === 'INVALID_ARGS' || err.code === 'INVALID_SEND_OPTIONS' || err.code === 'UNKNOWN_TASK'
        ? 400
        : err.code === 'UNKNOWN_SCHEDULE'
          ? 404
          : err.code === 'APP_CLOSED'
            ? 503
            : 500;
    return failure(status, err.code, err.message);
  }
  return failure(500, 'INTERNAL', (err as Error)?.message ?? String(err));
}

export async function answer(fn: () => Promise<Reply>): Promise<Reply> {
  try {
    return await fn();
  } catch (err) {
    return fromError(err);
  }
}

function summary(job: JobInfo) {
  const args = JSON.stringify(job.args);
  return {
    id: job.id,
    task: job.task,
    state: job.state,
    attempts: job.attempts,
    createdAt: job.createdAt.getTime(),
    finishedAt: job.finishedAt?.getTime(),
    args: args.length > ARGS_PREVIEW ? `${args.slice(0, ARGS_PREVIEW)}…` : args,
  };
}

export class DashboardApi {
  private readonly counts: Reuse<Record<JobState, number>>;
  private readonly firstPages: Reuse<JobPage>;

  constructor(
    private readonly source: DashboardSource,
    private readonly stats: DashboardStats,
    private readonly readOnly: boolean,
  ) {
    this.counts = new Reuse(() => stats.version, 1000, 1);
    this.firstPages = new Reuse(() => stats.version, 500);
  }

  async overview(): Promise<Reply> {
    const workers = this.source.workers?.();
    const counts = await this.counts.get('', () => this.source.counts());
    return {
      status: 200,
      body: {
        counts: counts.value,
        retryInMs: counts.retryInMs,
        busy: workers ? { busy: workers.busy, slots: workers.slots } : undefined,
        recovery: this.source.recovery(),
        series: this.stats.series(),
        since: this.stats.since,
        readOnly: this.readOnly,
      },
    };
  }

  /** GET api/jobs?state=&task=&q=&after=&limit= */
  async jobs(query: URLSearchParams): Promise<Reply> {
    const state = query.get('state') || undefined;
    if (state !== undefined && !(JOB_STATES as readonly string[]).includes(state)) {
      return failure(400, 'INVALID_ARGS', `state must be one of ${JOB_STATES.join(', ')}; got "${state}"`);
    }
    const task = query.get('task') || undefined;
    const limitText = query.get('limit');
    const limit = limitText === null ? PAGE_LIMIT : Number(limitText);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_LIMIT)
      return failure(400, 'INVALID_ARGS', `limit must be an integer from 1 to ${MAX_PAGE_LIMIT}; got "${limitText}"`);
    const after = query.get('after') || undefined;
    const q = query.get('q')?.trim() || undefined;
    const filter: ListOptions = { ...(state ? { state: state as JobState } : {}), ...(task ? { task } : {}) };
    if (q === undefined) {
      // The first page is what live pages re-read on every change: shared and reused briefly.
      const read = () => this.source.list({ ...filter, limit, ...(after ? { after } : {}) });
      const { value: page, retryInMs } = after
        ? { value: await read(), retryInMs: undefined }
        : await this.firstPages.get(`${state ?? ''}\n${task ?? ''}\n${limit}`, read);
      return { status: 200, body: { jobs: page.jobs.map(summary), next: page.next, retryInMs } };
    }
    // An id is a map lookup; only when no job has that id are the args searched.
    if (after === undefined) {
      const byId = await this.source.get(q);
      if (byId) return { status: 200, body: { jobs: [summary(byId)], match: 'id' } };
    }
    const window = await this.source.list({ ...filter, limit: SEARCH_WINDOW, ...(after ? { after } : {}) });
    const needle = q.toLowerCase();
    const found: JobInfo[] = [];
    let next: string | undefined = window.next;
    for (const job of window.jobs) {
      if (!JSON.stringify(job.args).toLowerCase().includes(needle)) continue;
      found.push(job);
      if (found.length === limit) {
        // Resume the search right after this job: the list's cursor is creation time and id.
        next = job === window.jobs[window.jobs.length - 1] ? window.next : `${job.createdAt.getTime()}:${job.id}`;
        break;
      }
    }
    return { status: 200, body: { jobs: found.map(summary), next, match: 'args', scanned: window.jobs.length } };
  }

  async job(id: string): Promise<Reply> {
    const info = await this.source.get(id);
    if (!info)
      return failure(
        404,
        'NOT_FOUND',
        `no job ${JSON.stringify(id)} on record (never sent here, or finished longer ago than resultTtl, or forgotten)`,
      );
    const timeline = this.stats.timeline(id) ?? derivedTimeline(info);
    const progress = [...timeline].reverse().find((e) => e.type === 'progress')?.progress ?? (info as { progress?: unknown }).progress;
    return {
      status: 200,
      body: {
        ...info,
        createdAt: info.createdAt.getTime(),
        runAt: info.runAt?.getTime(),
        expiresAt: info.expiresAt?.getTime(),
        startedAt: info.startedAt?.getTime(),
        finishedAt: info.finishedAt?.getTime(),
        finished: FINISHED_STATES.has(info.state),
        timeline,
        progress,
      },
    };
  }

  async action(id: string, action: string): Promise<Reply> {
    if (this.readOnly)
      return failure(
        403,
        'READ_ONLY',
        'this dashboard is read-only (started with --read-only / readOnly: true): cancel, retry, forget and run-now are off',
      );
    const info = await this.source.get(id);
    if (!info) return failure(404, 'NOT_FOUND', `no job ${JSON.stringify(id)} on record`);
    switch (action) {
      case 'cancel': {
        const cancelled = await this.source.cancel(id);
        return cancelled
          ? { status: 200, body: { cancelled } }
          : failure(409, 'NOT_CANCELLED', `job ${id} was not cancelled: it is ${info.state} (only unfinished jobs can be)`);
      }
      case 'retry': {
        const newId = await this.source.send(info.task, info.args);
        return { status: 201, body: { id: newId } };
      }
      case 'forget': {
        if (!this.source.forget) return failure(501, 'NOT_SUPPORTED', 'this source cannot forget jobs');
        const forgotten = await this.source.forget(id);
        return forgotten
          ? { status: 200, body: { forgotten } }
          : failure(409, 'NOT_FORGOTTEN', `job ${id} was not forgotten: it is ${info.state} (only finished jobs can be; cancel it first)`);
      }
      default:
        return failure(404, 'NOT_FOUND', `unknown action "${action}" (actions: cancel, retry, forget)`);
    }
  }

  tasks(): Reply {
    const stats = this.stats.tasks();
    const tasks = this.source.tasks().map((t) => ({
      name: t.name,
      file: t.file,
      line: t.line,
      plugin: t.plugin,
      options: {
        priority: t.priority,
        timeoutMs: t.timeoutMs,
        expiresMs: t.expiresMs,
        maxRetries: t.maxRetries,
        retryDelayMs: t.retryDelayMs,
      },
      stats: stats.get(t.name) ?? { received: 0, succeeded: 0, failed: 0, retried: 0 },
    }));
    return { status: 200, body: { tasks, since: this.stats.since } };
  }

  async schedules(): Promise<Reply> {
    if (!this.source.schedules) return { status: 200, body: { available: false, schedules: [] } };
    return {
      status: 200,
      body: { available: true, canRun: this.source.runSchedule !== undefined && !this.readOnly, schedules: await this.source.schedules() },
    };
  }

  async runSchedule(name: string): Promise<Reply> {
    if (this.readOnly) return failure(403, 'READ_ONLY', 'this dashboard is read-only: run-now is off');
    if (!this.source.runSchedule) return failure(501, 'NOT_SUPPORTED', 'this app has no periodic tasks to run');
    return { status: 201, body: { id: await this.source.runSchedule(name) } };
  }

  workers(): Reply {
    const w = this.source.workers?.();
    return { status: 200, body: w ? { available: true, ...w } : { available: false } };
  }
}

/** A job seen before the dashboard started: its timeline from the times on record. */
function derivedTimeline(info: JobInfo): TimelineEntry[] {
  const out: TimelineEntry[] = [{ type: 'received', at: info.createdAt.getTime(), attempt: 0 }];
  if (info.startedAt)
    out.push({ type: 'started', at: info.startedAt.getTime(), attempt: info.attempts, ...(info.recovered ? { recovered: true } : {}) });
  if (info.finishedAt && FINISHED_STATES.has(info.state)) {
    const type = info.state as TimelineEntry['type'];
    out.push({
      type,
      at: info.finishedAt.getTime(),
      attempt: info.attempts,
      ...(info.error ? { error: `${info.error.name}: ${info.error.message}` } : {}),
    });
  }
  return out;
}
