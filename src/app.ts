// The app: the public face of celeriac. It turns sends into jobs and hands them to a
// backend, which keeps them (durably), runs them on the pool and answers questions about
// them; it owns the task registry, the pool, hot reload and the event listeners. Opening
// is in app/open.ts, the file backend in backend/file/. Data flows one way: send →
// backend (durable) → pool → outcome → backend → result().
import type { Backend } from './backend/types.js';
import { CeleriacError } from './errors.js';
import { EVENT_TYPES, type CeleriacEventListener, type CeleriacEventType, type JobEvents } from './events.js';
import { parseListOptions, type JobPage, type ListOptions } from './job-query.js';
import type { JobState, SlotKind } from './jobs.js';
import type { Logger } from './log.js';
import type { WorkerPool } from './pool/pool.js';
import type { PluginRef, TaskManifestEntry } from './registry/types.js';
import { checkId, encodeArgs, jobFactory, manyJobs } from './send.js';
import type { JobHandle, JobInfo, ResultOptions, SendOptions } from './send-types.js';
import type { RecoveryReport } from './store/types.js';
import type { SendManyArgs, SendRest, SentResult, TaskDefinition, TaskSender } from './task.js';
import { durationMs } from './time.js';
import { resultTimeoutMs } from './result-timeout.js';
import { openAborted, openApp, type AppHooks, type OpenedApp } from './app/open.js';
import type { BegunOpen } from './app/begin-open.js';
import type { CeleriacOptions, Settings } from './app/options.js';
import type { HotReload } from './app/reload.js';
import type { TaskRegistry } from './app/registry.js';
import { serveClients, type ClientSocketServer } from './socket/serve.js';
import type { NewJob } from './jobs.js';
import { DEFAULT_QUEUE, unknownQueueError } from './queues.js';
import type { Workflow } from './workflows/canvas.js';
import type { WorkflowHandle, WorkflowSendOptions } from './workflows/engine.js';
import { appSource } from './dashboard/app-source.js';
import { deferredDashboard } from './dashboard/deferred.js';
import type { DashboardHandler, DashboardOptions, WorkersInfo } from './dashboard/types.js';
import { manualRun, schedulerFor, sendSlot } from './schedule/app-schedules.js';
import type { PeriodicScheduler } from './schedule/scheduler.js';
import type { ScheduleInfo } from './schedule/types.js';

export type { CeleriacOptions } from './app/options.js';
export type { Logger, StructuredLogger } from './log.js';

export async function createCeleriac(options: CeleriacOptions): Promise<Celeriac> {
  return Celeriac.create(options);
}

/** createCeleriac() with the open's first part already done (entry-lazy.ts: the discovering thread spawned before this module was imported). */
export async function createCeleriacFrom(options: CeleriacOptions, begun: BegunOpen): Promise<Celeriac> {
  return Celeriac.create(options, begun);
}

export class Celeriac implements TaskSender {
  /** The data dir: journal, snapshot and lock live here. */
  readonly dir: string;
  readonly plugins: PluginRef[];
  private readonly registry: TaskRegistry;
  private readonly pool: WorkerPool;
  private readonly backend: Backend;
  private readonly events: JobEvents;
  private readonly reloader: HotReload | undefined;
  private readonly settings: Settings;
  private readonly log: Logger;
  private running = false;
  /** Sends the slots of periodic schedules; its marks are the backend's. */
  private readonly periodic: PeriodicScheduler;
  /** Every job on record is known: slots may be sent (the id dedup must see them all). */
  private loaded = false;
  private closing: Promise<void> | undefined;
  private shutdownDeadline = Number.POSITIVE_INFINITY;
  /** <dir>/client.sock, where other processes' clients reach this app while it is open. */
  private clientSocket: ClientSocketServer | undefined;
  /** Set when the backend failed (STORE_FAILED, DATA_DIR_LOST): the app stopped itself. */
  private failure: CeleriacError | undefined;
  /** The error the app stopped itself with (see `failed`), as soon as it is known; undefined otherwise. */
  get failedWith(): CeleriacError | undefined {
    return this.failure;
  }
  private markFailed!: (err: CeleriacError) => void;
  /**
   * Resolves with the error if the app stopped by itself because it can no longer keep its
   * promises, once it has closed: its data dir failed (an I/O error on the journal:
   * STORE_FAILED) or is no longer its own (deleted, replaced, its LOCK or socket removed:
   * DATA_DIR_LOST). Sends are refused with that error from the moment it is known and
   * pending `result()` calls are rejected with it. Never resolves otherwise. A worker
   * process exits non-zero on it, so that its supervisor restarts it.
   */
  readonly failed = new Promise<CeleriacError>((resolve) => (this.markFailed = resolve));

  private constructor(opened: OpenedApp) {
    this.dir = opened.dir;
    this.plugins = opened.plugins;
    this.registry = opened.registry;
    this.pool = opened.pool;
    this.backend = opened.backend;
    this.events = opened.events;
    this.reloader = opened.reload;
    this.settings = opened.settings;
    this.log = opened.log;
    this.periodic = schedulerFor(this, opened.schedules, opened.backend, opened.log);
  }

  static async create(options: CeleriacOptions, begun?: BegunOpen): Promise<Celeriac> {
    const host: { app?: AppHooks } = {};
    const opened = await openApp(options, host, begun);
    const app = new Celeriac(opened);
    host.app = {
      stopOnFailure: (err) => app.stopOnFailure(err),
      assertOpen: () => app.assertOpen(),
      isClosing: () => app.closing !== undefined,
      updateSchedules: (entries) => app.periodic.update(entries),
    };
    // Closing stops the backend at once and its read of what is on record at the next slice.
    const onAbort = () => void app.close();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      if (options.signal?.aborted) throw openAborted();
      // With `start`, jobs may run while the backend still reads (it says when).
      await opened.backend.load(options.start ? { startEarly: () => app.start() } : {});
      app.loaded = true;
      if (options.signal?.aborted) throw openAborted();
      // Other processes' clients reach a data dir's owner on <dir>/client.sock (a broker is their meeting point otherwise).
      if (opened.backend.kind === 'file') {
        app.clientSocket = await serveClients(app, opened.dir, opened.log).catch((err: unknown) => {
          opened.log.warn(
            `could not listen for clients on the data dir's socket (${(err as Error).message}): clients hand work in through the inbox`,
          );
          return undefined;
        });
      }
      if (options.start) await app.start();
      if (app.running) await app.periodic.start();
      else opened.pool.openAdoptionWindow();
    } catch (err) {
      try {
        await app.close();
      } finally {
        if (options.start) await opened.pool.close();
      }
      throw options.signal?.aborted && err instanceof CeleriacError && err.code === 'APP_CLOSED' ? openAborted() : (app.failure ?? err);
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
    }
    return app;
  }

  /** The task module files found in the task paths (hot reload updates them). */
  get modules(): string[] {
    return this.registry.modules;
  }

  /** The tasks the modules define: name, file, line and options. */
  get tasks(): TaskManifestEntry[] {
    return this.registry.tasks;
  }

  /** The periodic schedules (task modules' and the `schedules` option's), each with its last and next slot. */
  get schedules(): ScheduleInfo[] {
    return this.periodic.info();
  }

  /**
   * Run a periodic schedule's task with its args now, as an ordinary job of its own
   * (`<name>@manual-<ms>`): the schedule's slots go on as before. UNKNOWN_SCHEDULE for a
   * name no schedule has.
   */
  async runSchedule(name: string): Promise<JobHandle<unknown>> {
    const { task, args, id } = manualRun(this.periodic.entries, name, Date.now());
    return this.send(task, args, { id });
  }

  /** Worker threads in the pool. */
  get poolSize(): number {
    return this.settings.concurrency;
  }

  /** The worker threads: hot reload generation, busy slots, per-thread load, memory (what the dashboard's workers page shows). */
  workers(): WorkersInfo {
    return {
      generation: this.pool.generation,
      slots: this.pool.capacity,
      busy: this.pool.inFlight,
      threads: this.pool.threads(),
      ...(this.settings.maxMemoryMb ? { maxMemoryMb: this.settings.maxMemoryMb } : {}),
      memory: (({ rss, heapUsed, heapTotal, external }) => ({ rss, heapUsed, heapTotal, external }))(process.memoryUsage()),
    };
  }

  /**
   * Serve the dashboard: a node:http request handler (node:http, Express, Fastify) with the
   * JSON API and live updates over Server-Sent Events. See the README's Dashboard section.
   */
  dashboard(options?: DashboardOptions): DashboardHandler {
    return deferredDashboard(appSource(this), options);
  }

  /** How many jobs are on record in each state. */
  counts(): Promise<Record<JobState, number>> {
    return this.backend.counts();
  }

  /** What the last open found on disk. */
  get recovery(): RecoveryReport {
    return this.backend.recovery;
  }

  /** Start the worker threads and run due jobs (including those sent before start). */
  async start(): Promise<void> {
    if (this.closing) throw new CeleriacError('APP_CLOSED', 'start() after close(): create a new app');
    if (this.running) return;
    if (!this.pool.started) {
      const { problems } = await this.pool.start();
      for (const p of problems) this.log.error(p.message);
    }
    this.running = true;
    await this.backend.start();
    if (this.loaded) await this.periodic.start();
    await this.reloader?.watch();
  }

  // --- sending ------------------------------------------------------------------

  /**
   * One signature, not overloads, so that a type error names the argument that is wrong
   * rather than "TaskDefinition is not assignable to string". `send<Result>('name', …)`
   * is the untyped form.
   */
  send<Result = unknown, T extends string | TaskDefinition = string>(
    task: T,
    ...rest: SendRest<T>
  ): Promise<JobHandle<SentResult<T, Result>>>;
  send(taskOrDef: string | TaskDefinition, args: unknown = [], options?: SendOptions): Promise<JobHandle<unknown>> {
    // Not async: sendOne's promise (it rejects, never throws) is returned as is, without a wrapper's extra turns.
    return this.sendOne(taskOrDef, args, options);
  }

  /** The scheduler's send: a slot job keeps how it was sent (what context().schedule reports). */
  [sendSlot](task: string, args: unknown[], options: SendOptions, slot: SlotKind): Promise<JobHandle<unknown>> {
    return this.sendOne(task, args, options, slot);
  }

  private async sendOne(
    taskOrDef: string | TaskDefinition,
    args: unknown,
    options: SendOptions | undefined,
    slot?: SlotKind,
  ): Promise<JobHandle<unknown>> {
    const task = this.registry.resolve(taskOrDef);
    const make = jobFactory(task, options, Date.now());
    const job = make(encodeArgs(task, args));
    if (slot !== undefined) job.slot = slot;
    this.assertKnownQueue(job, `send(${task.name})`);
    const [created] = await this.backend.accept([job], { startNow: true, fresh: [options?.id === undefined] });
    return new Handle(job.id, created!, this);
  }

  /**
   * Send one job per item, all durable with one flush. An item is an argument list, or
   * `{ args, ...options }` with options of its own over the shared ones (an `id`: a known
   * id creates nothing and its handle has `created === false`, as with send()).
   */
  sendMany<Result = unknown, T extends string | TaskDefinition = string>(
    task: T,
    argsList: SendManyArgs<T>,
    options?: Omit<SendOptions, 'id'>,
  ): Promise<JobHandle<SentResult<T, Result>>[]>;
  async sendMany(taskOrDef: string | TaskDefinition, argsList: unknown, options?: Omit<SendOptions, 'id'>): Promise<JobHandle<unknown>[]> {
    const task = this.registry.resolve(taskOrDef);
    const { jobs, fresh } = manyJobs(task, argsList, options, Date.now());
    const where = `sendMany(${task.name})`;
    for (const job of jobs) this.assertKnownQueue(job, where);
    this.assertOpen();
    const created = await this.backend.accept(jobs, { fresh });
    return jobs.map((job, i) => new Handle(job.id, created[i]!, this));
  }

  // --- workflows ------------------------------------------------------------------

  /**
   * Send a chain, group or chord (see the README's Workflows): its first jobs are durable
   * when this resolves; the rest are created as it advances, each durably.
   */
  async sendWorkflow<Result = unknown>(workflow: Workflow, options?: WorkflowSendOptions): Promise<WorkflowHandle<Result>> {
    this.assertOpen();
    return (await this.backend.sendWorkflow(workflow, options)) as WorkflowHandle<Result>;
  }

  // --- queues (routing) -----------------------------------------------------------

  /** A job's queue must be "default", a task's queue option, or one of this app's `queues`: a typo would leave it pending for ever. */
  private assertKnownQueue(job: NewJob, where: string): void {
    if (job.queue === undefined || this.settings.queues?.has(job.queue)) return;
    const tasks = this.registry.tasks;
    if (tasks.some((t) => t.queue === job.queue)) return;
    const known = [DEFAULT_QUEUE, ...tasks.flatMap((t) => (t.queue ? [t.queue] : [])), ...(this.settings.queues?.keys() ?? [])];
    throw unknownQueueError(job.queue, known, where);
  }

  /** Throws why no new job is taken: the backend failed, or the app is closing. */
  private assertOpen(): void {
    if (this.failure) throw this.failure;
    if (this.closing) throw new CeleriacError('APP_CLOSED', 'the app is closing or closed: it accepts no new jobs');
  }

  // --- events ---------------------------------------------------------------------

  /**
   * Listen for a job event, told once the change is durable: received, started,
   * progress, retrying, succeeded, failed, cancelled, expired. A listener that throws is
   * logged and affects neither the job nor other listeners.
   */
  on(type: CeleriacEventType, listener: CeleriacEventListener): this {
    if (!(EVENT_TYPES as readonly string[]).includes(type))
      throw new CeleriacError('INVALID_ARGS', `on(): unknown event "${String(type)}" (events: ${EVENT_TYPES.join(', ')})`);
    if (typeof listener !== 'function') throw new CeleriacError('INVALID_ARGS', `on("${type}"): the listener must be a function`);
    this.events.on(type, listener);
    return this;
  }

  /** Stop a listener added with on(). */
  off(type: CeleriacEventType, listener: CeleriacEventListener): this {
    this.events.off(type, listener);
    return this;
  }

  // --- reading and cancelling -----------------------------------------------------

  /** The job's current state, or undefined if it is unknown (never sent, or dropped after resultTtl). */
  get(id: string): Promise<JobInfo | undefined> {
    return this.backend.get(id);
  }

  /**
   * Jobs on record, newest first, a page at a time, with the filters of `celeriac list`:
   * `{ state, task, limit, after }`; `after` is the `next` of the previous page.
   */
  async list(options?: ListOptions): Promise<JobPage> {
    return this.backend.list(parseListOptions(options, 'list()'));
  }

  /** A handle to a known job (for example one sent by an earlier process); undefined if it is unknown. */
  async job<Result = unknown>(id: string): Promise<JobHandle<Result> | undefined> {
    return (await this.backend.get(id)) ? (new Handle(id, false, this) as JobHandle<Result>) : undefined;
  }

  /** Cancel a job that has not finished: a waiting one never runs; a running one sees its AbortSignal fire. */
  async cancel(id: string): Promise<boolean> {
    checkId('cancel', id);
    return this.backend.cancel(id);
  }
  /** Drop a finished job and its result from the record now (rather than after resultTtl). False if unknown or not finished. */
  async forget(id: string): Promise<boolean> {
    checkId('forget', id);
    return this.backend.forget(id);
  }

  /** The result of a job by id (what `handle.result()` calls). */
  result(id: string, opts?: ResultOptions): Promise<unknown> {
    let timeoutMs: number | undefined;
    try {
      timeoutMs = resultTimeoutMs(opts, 'result()');
    } catch (err) {
      return Promise.reject(err);
    }
    return this.backend.result(id, timeoutMs);
  }

  /** Resolves once nothing is due, queued or running (jobs waiting for a later time do not count). */
  idle(): Promise<void> {
    return this.backend.idle();
  }

  // --- shutdown -----------------------------------------------------------------

  /**
   * Stop taking work, let running jobs finish within `timeout` (default shutdownTimeout),
   * give back jobs a worker holds but has not begun, then release the data dir. Jobs
   * stopped at the deadline stay on record and run again, flagged recovered, next start.
   */
  close(options: { timeout?: number | string } = {}): Promise<void> {
    const graceMs = options.timeout === undefined ? this.settings.shutdownTimeoutMs : durationMs(options.timeout, 'close(): timeout');
    // A second close() with a shorter timeout hurries the one in progress (a second Ctrl-C).
    this.shutdownDeadline = Math.min(this.shutdownDeadline, Date.now() + graceMs);
    if (!this.closing) this.closing = this.shutdown();
    return this.closing;
  }

  /**
   * The backend failed (it refuses every write from now on; it has failed whoever waits
   * for a result): stop (running jobs are aborted: their outcomes could not be recorded;
   * they stay started on disk and run again, flagged recovered, after a restart), then
   * resolve `failed`.
   */
  stopOnFailure(err: CeleriacError): void {
    if (this.failure) return;
    this.failure = err;
    this.log.error(err.message);
    void this.close({ timeout: 0 })
      .catch((e: unknown) => this.log.error(`while stopping after the failure: ${(e as Error).message}`))
      .finally(() => this.markFailed(err));
  }

  private async shutdown(): Promise<void> {
    await this.clientSocket?.close();
    await this.periodic.stop();
    await this.reloader?.close();
    await this.backend.close(() => this.shutdownDeadline);
    // A never-started app's backend leaves the pool alone: the thread that discovered its tasks is still there.
    await this.pool.close();
    this.running = false;
  }
}

/** A class rather than an object of closures: sendMany makes one per job. */
class Handle implements JobHandle<unknown> {
  constructor(
    readonly id: string,
    readonly created: boolean,
    private readonly app: Celeriac,
  ) {}

  result(options?: ResultOptions): Promise<unknown> {
    return this.app.result(this.id, options);
  }

  info(): Promise<JobInfo | undefined> {
    return this.app.get(this.id);
  }
}
