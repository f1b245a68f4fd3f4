// What the dashboard reads and acts on, and how it is mounted. The handler only ever
// talks to a DashboardSource: an app in this process (appSource), or a client of a running
// worker's socket, with the same shape.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CeleriacEventListener, CeleriacEventType } from '../events.js';
import type { JobPage, ListOptions } from '../job-query.js';
import type { JobState } from '../jobs.js';
import type { TaskManifestEntry } from '../registry/types.js';
import type { JobInfo } from '../send-types.js';
import type { RecoveryReport } from '../store/types.js';

/** One worker thread as the workers page shows it. */
export interface WorkerThreadInfo {
  threadId: number;
  /**
   * active (takes jobs), loading (started, importing the task modules: takes jobs once
   * loaded), retired (an old code generation finishing its jobs), standby or spare (hot reload).
   */
  state: string;
  /** Jobs handed to this thread and not yet finished (running or queued in it). */
  inFlight: number;
  /** Share of its life the thread's event loop was busy, 0–1. */
  utilization: number;
}

export interface WorkersInfo {
  /** Hot reload generation: 0 for the code loaded at start, +1 per reload that took over. */
  generation: number;
  /** Job slots: threads × jobs per thread. */
  slots: number;
  /** Slots running or holding a job right now. */
  busy: number;
  threads: WorkerThreadInfo[];
  /** Heap limit per thread (MB), when set. */
  maxMemoryMb?: number;
  /** The host process's memory (bytes): rss covers the worker threads too. */
  memory: { rss: number; heapUsed: number; heapTotal: number; external: number };
}

export interface ScheduleInfo {
  name: string;
  task: string;
  /** The cron pattern or interval, as written. */
  pattern: string;
  next?: Date | string | number;
  last?: Date | string | number;
}

/** The seam: everything the dashboard needs from a celeriac app or a worker's client. */
export interface DashboardSource {
  list(options: ListOptions): Promise<JobPage>;
  get(id: string): Promise<JobInfo | undefined>;
  counts(): Promise<Record<JobState, number>>;
  cancel(id: string): Promise<boolean>;
  /** Send a new job (retry as a new job); resolves with its id. */
  send(task: string, args: unknown[]): Promise<string>;
  /** Drop a finished job from the record; false if unknown or not finished. */
  forget?(id: string): Promise<boolean>;
  tasks(): TaskManifestEntry[];
  recovery(): RecoveryReport | undefined;
  workers?(): WorkersInfo;
  /** Absent while the app has no periodic tasks. */
  schedules?(): Promise<ScheduleInfo[]>;
  runSchedule?(name: string): Promise<string>;
  on(type: CeleriacEventType, listener: CeleriacEventListener): void;
  off(type: CeleriacEventType, listener: CeleriacEventListener): void;
}

export interface DashboardOptions {
  /** The path the dashboard lives under, e.g. "/admin/jobs". Requests outside it go to `next` (or get 404). Default "/". */
  basePath?: string;
  /**
   * Your own access check (the host app's session, for example): true lets the request in.
   * When given, it replaces the token. Default: a token (see `token`).
   */
  authorize?: (req: IncomingMessage) => boolean | Promise<boolean>;
  /** The login token. Default: a random one, readable as `handler.token`. At least 16 characters. */
  token?: string;
  /** Hide cancel, retry, forget and run-now, and refuse them (403). Default false. */
  readOnly?: boolean;
  /** Origins besides the request's own Host allowed to make state-changing requests (e.g. behind a proxy). Default none. */
  allowedOrigins?: string[];
}

/** A node:http request handler; mounts in node:http, Express (`app.use(handler)`) or Fastify (`reply.hijack()`, then `handler(req.raw, reply.raw)`). */
export interface DashboardHandler {
  (req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void): void;
  /** The token that logs in (undefined when `authorize` decides). */
  readonly token: string | undefined;
  /** The URL path a browser opens to log in with the token, relative to the server: `<basePath>/?token=…`. */
  readonly loginPath: string | undefined;
  /** Stop listening to the app and end open event streams. */
  close(): void;
}
