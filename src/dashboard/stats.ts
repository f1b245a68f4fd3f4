// What the dashboard learns from the event stream while it runs: per-second counts for the
// last hour (the charts), per-task counts and run times, and each recent job's timeline.
// Bounded: an hour of seconds, and the most recent jobs only.
import type { CeleriacEvent } from '../events.js';

export const SERIES_SECONDS = 3600;
const TIMELINE_JOBS = 10_000;
const TIMELINE_EVENTS = 50;
const OPEN_RUNS = 100_000;

export interface TimelineEntry {
  type: CeleriacEvent['type'];
  at: number;
  attempt: number;
  recovered?: boolean;
  runAt?: number;
  error?: string;
  progress?: unknown;
}

export interface TaskStats {
  received: number;
  succeeded: number;
  failed: number;
  retried: number;
  /** Mean run time (ms) of the runs that succeeded or failed while the dashboard watched. */
  meanRunMs: number | undefined;
}

export interface Series {
  /** Epoch seconds of each point, oldest first. */
  t: number[];
  succeeded: number[];
  failed: number[];
  received: number[];
}

export class DashboardStats {
  private readonly second = new Float64Array(SERIES_SECONDS);
  private readonly succeeded = new Uint32Array(SERIES_SECONDS);
  private readonly failed = new Uint32Array(SERIES_SECONDS);
  private readonly received = new Uint32Array(SERIES_SECONDS);
  private readonly byTask = new Map<
    string,
    { received: number; succeeded: number; failed: number; retried: number; runMs: number; runs: number }
  >();
  private readonly started = new Map<string, number>();
  private readonly timelines = new Map<string, TimelineEntry[]>();
  readonly since = Date.now();
  /** Job events seen: changes whenever a job does. */
  version = 0;

  record(e: CeleriacEvent): void {
    this.version++;
    const at = e.at.getTime();
    const task = this.taskStats(e.task);
    switch (e.type) {
      case 'received':
        this.bucket(this.received, at);
        task.received++;
        break;
      case 'started':
        if (this.started.size >= OPEN_RUNS) this.started.delete(this.started.keys().next().value as string);
        this.started.set(e.id, at);
        break;
      case 'succeeded':
      case 'failed':
        this.bucket(e.type === 'succeeded' ? this.succeeded : this.failed, at);
        task[e.type]++;
        this.endRun(e.id, at, task);
        break;
      case 'retrying':
        task.retried++;
        this.endRun(e.id, at, task);
        break;
      default:
        break;
    }
    this.addToTimeline(e);
  }

  private taskStats(name: string) {
    let t = this.byTask.get(name);
    if (!t) this.byTask.set(name, (t = { received: 0, succeeded: 0, failed: 0, retried: 0, runMs: 0, runs: 0 }));
    return t;
  }

  private endRun(id: string, at: number, task: { runMs: number; runs: number }): void {
    const began = this.started.get(id);
    if (began === undefined) return;
    this.started.delete(id);
    task.runMs += Math.max(0, at - began);
    task.runs++;
  }

  private bucket(counts: Uint32Array, at: number): void {
    const sec = Math.floor(at / 1000);
    const i = sec % SERIES_SECONDS;
    if (this.second[i] !== sec) {
      this.second[i] = sec;
      this.succeeded[i] = 0;
      this.failed[i] = 0;
      this.received[i] = 0;
    }
    counts[i]!++;
  }

  private addToTimeline(e: CeleriacEvent): void {
    let list = this.timelines.get(e.id);
    if (!list) {
      if (this.timelines.size >= TIMELINE_JOBS) this.timelines.delete(this.timelines.keys().next().value as string);
      this.timelines.set(e.id, (list = []));
    }
    if (list.length >= TIMELINE_EVENTS) list.splice(1, 1); // keep the first (received) and the latest
    // Told after the flush that made it durable: a job started in the same flush already counts its attempt.
    const entry: TimelineEntry = { type: e.type, at: e.at.getTime(), attempt: e.type === 'received' ? 0 : e.attempt };
    if (e.recovered) entry.recovered = true;
    if (e.runAt) entry.runAt = e.runAt.getTime();
    if (e.error) entry.error = `${e.error.name}: ${e.error.message}`;
    if (e.type === 'progress') entry.progress = e.progress;
    list.push(entry);
  }

  timeline(id: string): TimelineEntry[] | undefined {
    return this.timelines.get(id);
  }

  tasks(): Map<string, TaskStats> {
    const out = new Map<string, TaskStats>();
    for (const [name, t] of this.byTask) {
      out.set(name, {
        received: t.received,
        succeeded: t.succeeded,
        failed: t.failed,
        retried: t.retried,
        meanRunMs: t.runs ? t.runMs / t.runs : undefined,
      });
    }
    return out;
  }

  /** The last hour, one point per second, ending at `now`. */
  series(now = Date.now()): Series {
    const end = Math.floor(now / 1000);
    const s: Series = { t: [], succeeded: [], failed: [], received: [] };
    for (let sec = end - SERIES_SECONDS + 1; sec <= end; sec++) {
      const i = sec % SERIES_SECONDS;
      const live = this.second[i] === sec;
      s.t.push(sec);
      s.succeeded.push(live ? this.succeeded[i]! : 0);
      s.failed.push(live ? this.failed[i]! : 0);
      s.received.push(live ? this.received[i]! : 0);
    }
    return s;
  }
}
