// The app: the public face of celeriac. It owns the store, the pool and the dispatcher,
// turns sends into durable jobs, and answers questions about them. Data flows one way:
// send → store (durable) → dispatcher (ready/delayed heaps → p-queue → pool) → outcome
// → store → waiters.
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { assertDataDirUsable } from './data-dir.js';
import { CeleriacError } from './errors.js';
import { InboxConsumer, inboxHasMessages, type InboxMessage } from './inbox.js';
import { jobInfo } from './job-view.js';
import { listJobs, parseListOptions, type JobPage, type ListOptions } from './job-query.js';
import { JobEvents, type CeleriacEventListener, type CeleriacEventType, EVENT_TYPES } from './events.js';
import { JobLog, plainLogger, sinkOf, type Logger } from './log.js';
import { ResultWaiters } from './waiters.js';
import { FINISHED_STATES, JOB_STATES, WAITING_STATES, type JobEvent, type JobRecord, type JobState, type NewJob } from './jobs.js';
import { WorkerPool } from './pool/pool.js';
import type { PluginRef, TaskManifestEntry } from './pool/protocol.js';
import { resolvePlugin } from './registry/plugins.js';
import { assertNoProblems, discoverTasks, findTaskModules } from './registry/discover.js';
import { Dispatcher } from './scheduler/dispatcher.js';
import { checkId, encodeArgs, jobFactory, manyJobs, unknownTaskError } from './send.js';
import type { JobHandle, JobInfo, ResultOptions, SendOptions } from './send-types.js';
import { FileStore } from './store/file-store.js';
import type { JobStore, RecoveryReport } from './store/types.js';
import { isTaskDefinition, type SendManyArgs, type SendRest, type SentResult, type TaskDefinition, type TaskSender } from './task.js';
import { MAX_CONCURRENCY } from './limits.js';
import { durationMs, MAX_INSTANT_MS } from './time.js';
import { checkKnownKeys, isPlainObject } from './validate.js';
import { TaskWatcher } from './watch.js';
import { serveClients, type ClientSocketServer } from './socket/serve.js';

export type { Logger, StructuredLogger } from './log.js';

export interface CeleriacOptions {
  /** The data dir: journal, snapshot and lock live here. */
  dir: string;
  /** Task modules: files, or directories searched recursively for .ts/.mts/.js/.mjs. */
  tasks?: string | string[];
  /** Plugin packages whose package.json declares `"celeriac": { "taskImports": "./module.js" }`. */
  plugins?: string[];
  /** Worker threads in the pool. Default: the number of cores. */
  concurrency?: number;
  /** Jobs one worker runs at once (async tasks overlap). Default 1. */
  workerConcurrency?: number;
  /**
   * Jobs reserved ahead of time per worker slot (Celery's prefetch multiplier), held in
   * the host until any slot frees, so that workers never wait for the host between jobs.
   * Default 64. Higher raises throughput of short jobs. Reserved jobs have not begun: a
   * crash does not flag them recovered.
   */
  prefetch?: number;
  /** How long finished jobs and their results are kept (seconds or "1d"). Default 1 day. */
  resultTtl?: number | string;
  /** close(): how long running jobs may take to finish before they are stopped (seconds or "30s"). Default 30 s. */
  shutdownTimeout?: number | string;
  /** After a task's timeout fires its AbortSignal, how long before its worker is terminated. Default 1 s. */
  timeoutGrace?: number | string;
  /** Heap limit per worker thread in MB (worker resourceLimits); a job that exceeds it fails. */
  maxMemoryMb?: number;
  /**
   * How many times a job may take its worker thread down (the task called process.exit(),
   * ran out of memory, or threw from a timer) before it fails for good with code
   * WORKER_LOST (Celery's WorkerLostError); until then it runs again, flagged recovered.
   * Counted within one process. 1: it fails at the first loss. Default 3.
   */
  maxWorkerLosses?: number;
  /** Largest return value (bytes of JSON) a task may produce. Default 16 MiB. */
  maxResultBytes?: number;
  /** Compact the journal into the snapshot after this many bytes. Default 64 MiB. */
  compactAfterBytes?: number;
  /** Resolve relative paths against this directory. Default: process.cwd(). */
  cwd?: string;
  /**
   * Where celeriac reports recoveries, lost workers and (with logJobs) each job; false for
   * silence. A plain logger (`info(message)`) or a pino-style one (`info(fields, message)`,
   * told apart by its `child()` method; pino's type fits Logger). Default: console.
   */
  logger?: Logger | false;
  /** One log line per job event: received, succeeded (with its run time), retried (countdown, reason), failed (error). Default false. */
  logJobs?: boolean;
  /**
   * Hot reload (development): watch the task modules and plugin modules; on a change a new
   * worker generation loads the new code, and running jobs finish on the old one. Default false.
   */
  watch?: boolean;
  /**
   * Start the worker threads inside createCeleriac(), while the journal is read, and run
   * jobs as soon as it resolves: what a worker process wants (the same as calling start()
   * after, only sooner: the threads' start-up overlaps the replay). With many jobs on
   * disk the first ones run while the rest is read. Default false.
   */
  start?: boolean;
  /**
   * Abort the open: the app stops taking work, lets the jobs already running finish (as
   * close() does), and createCeleriac() rejects with APP_CLOSED. For a worker process told
   * to stop while it is still reading a large data dir.
   */
  signal?: AbortSignal;
}

const OPTION_KEYS = [
  'dir', 'tasks', 'plugins', 'concurrency', 'workerConcurrency', 'prefetch', 'resultTtl', 'shutdownTimeout', 'timeoutGrace', 'maxMemoryMb', 'maxWorkerLosses', 'maxResultBytes', 'compactAfterBytes', 'cwd', 'logger', 'logJobs', 'watch', 'start', 'signal',
] as const;

interface Settings {
  concurrency: number;
  workerConcurrency: number;
  prefetch: number;
  resultTtlMs: number;
  shutdownTimeoutMs: number;
  timeoutGraceMs: number;
  maxMemoryMb: number | undefined;
  maxWorkerLosses: number;
  maxResultBytes: number;
  compactAfterBytes: number;
  watch: boolean;
}


export async function createCeleriac(options: CeleriacOptions): Promise<Celeriac> {
  return Celeriac.create(options);
}

export class Celeriac implements TaskSender {
  private readonly tasksByName: Map<string, TaskManifestEntry>;
  private readonly pool: WorkerPool;
  private readonly dispatcher: Dispatcher;
  private readonly waiters = new ResultWaiters();
  private readonly events: JobEvents;
  private readonly accepting = new Map<string, Promise<void>>();
  private running = false;
  private closing: Promise<void> | undefined;
  private sweeper: NodeJS.Timeout | undefined;
  private shutdownDeadline = Number.POSITIVE_INFINITY;
  private readonly inbox: InboxConsumer;
  /** What hot reload looks at again: the configured task paths, and the module files first loaded. */
  private reloadSource: { taskPaths: string[]; cwd: string; files: string[] } | undefined;
  private watcher: TaskWatcher | undefined;
  /** <dir>/client.sock, where other processes' clients reach this app while it is open. */
  private clientSocket: ClientSocketServer | undefined;
  /** createCeleriac() has returned. */
  private opened = false;
  /** Set when the data dir failed (STORE_FAILED) or was lost (DATA_DIR_LOST): the app stopped itself. */
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

  private constructor(
    readonly dir: string,
    private moduleFiles: string[],
    readonly plugins: PluginRef[],
    tasks: TaskManifestEntry[],
    private readonly store: JobStore,
    private readonly settings: Settings,
    private readonly log: Logger,
    pool: WorkerPool,
    private readonly jobLog: JobLog | undefined,
  ) {
    this.tasksByName = new Map(tasks.map((t) => [t.name, t]));
    this.pool = pool;
    this.events = new JobEvents(log);
    store.onApplied?.((evs) => this.events.applied(evs, store.jobs));
    this.dispatcher = new Dispatcher({
      store,
      pool: this.pool,
      log,
      onFinished: (job) => this.waiters.settle(job),
      ...(jobLog ? { onRecorded: (job: JobRecord, ev: JobEvent, runMs: number | undefined) => jobLog.recorded(job, ev, runMs) } : {}),
      slots: settings.concurrency * settings.workerConcurrency,
      prefetch: settings.prefetch,
      timeoutGraceMs: settings.timeoutGraceMs,
    });
    this.inbox = new InboxConsumer(dir, (m) => this.applyInboxMessage(m), log);
  }

  /** Jobs read from the data dir, in the order they should run. */
  private scheduleLoaded(jobs: JobRecord[]): void {
    for (const job of jobs) if (WAITING_STATES.has(job.state)) this.dispatcher.schedule(job);
  }

  static async create(options: CeleriacOptions): Promise<Celeriac> {
    if (!isPlainObject(options)) throw new CeleriacError('INVALID_CONFIG', 'createCeleriac(options): options must be an object with at least { dir, tasks }');
    checkKnownKeys(options, OPTION_KEYS, 'INVALID_CONFIG', 'createCeleriac()');
    const settings = resolveSettings(options);
    const cwd = options.cwd ?? process.cwd();
    if (typeof options.dir !== 'string' || options.dir === '') throw new CeleriacError('INVALID_CONFIG', 'createCeleriac(): "dir" (the data dir) is required');
    const taskPaths = typeof options.tasks === 'string' ? [options.tasks] : (options.tasks ?? []);
    if (!Array.isArray(taskPaths) || taskPaths.some((t) => typeof t !== 'string')) {
      throw new CeleriacError('INVALID_CONFIG', 'createCeleriac(): "tasks" must be a path or a list of paths (task module files or directories)');
    }
    if (options.plugins !== undefined && !Array.isArray(options.plugins)) {
      throw new CeleriacError('INVALID_CONFIG', 'createCeleriac(): "plugins" must be a list of package names');
    }
    if (options.watch !== undefined && typeof options.watch !== 'boolean') throw new CeleriacError('INVALID_CONFIG', `createCeleriac(): "watch" must be true or false, got ${JSON.stringify(options.watch)}`);
    if (options.start !== undefined && typeof options.start !== 'boolean') throw new CeleriacError('INVALID_CONFIG', `createCeleriac(): "start" must be true or false, got ${JSON.stringify(options.start)}`);
    if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) throw new CeleriacError('INVALID_CONFIG', 'createCeleriac(): "signal" must be an AbortSignal (from an AbortController)');
    const aborted = () => new CeleriacError('APP_CLOSED', 'createCeleriac(): aborted (its signal fired) while the app was opening; jobs that had started finished or were given back');
    if (options.signal?.aborted) throw aborted();
    const plugins = (options.plugins ?? []).map((name) => resolvePlugin(name, cwd));
    if (options.logJobs !== undefined && typeof options.logJobs !== 'boolean') throw new CeleriacError('INVALID_CONFIG', `createCeleriac(): "logJobs" must be true or false, got ${JSON.stringify(options.logJobs)}`);
    checkLogger(options.logger);
    const sink = sinkOf(options.logger);
    const log = plainLogger(sink);
    const dir = resolve(cwd, options.dir);
    await assertDataDirUsable(dir, 'createCeleriac(): "dir"');
    const modules = await findTaskModules(taskPaths, cwd);
    const pool = new WorkerPool({
      modules,
      plugins,
      size: settings.concurrency,
      concurrency: settings.workerConcurrency,
      timeoutGraceMs: settings.timeoutGraceMs,
      maxResultBytes: settings.maxResultBytes,
      maxWorkerLosses: settings.maxWorkerLosses,
      ...(settings.maxMemoryMb ? { resourceLimits: { maxOldGenerationSizeMb: settings.maxMemoryMb } } : {}),
      onEvent: (m) => log.warn(m),
      spares: settings.watch,
    });
    let created: Celeriac | undefined;
    // Discovery (worker threads importing the modules: a throwaway one, or with `start`
    // the pool's own) and the journal replay overlap.
    const [discovery, store] = await Promise.allSettled([
      options.start ? pool.start() : discoverTasks(modules, plugins),
      FileStore.begin({
        dir,
        resultTtlMs: settings.resultTtlMs,
        compactAfterBytes: settings.compactAfterBytes,
        onBackgroundError: (e) => log.error(`compaction failed (the journal is intact; it will be retried): ${(e as Error).message}`),
        onFatal: (e) => created?.stopOnFailure(e),
      }),
    ]);
    const abandon = async () => {
      try {
        await pool.close();
      } finally {
        if (store.status === 'fulfilled') await store.value.close();
      }
    };
    if (discovery.status === 'rejected' || store.status === 'rejected') {
      await abandon();
      throw discovery.status === 'rejected' ? discovery.reason : (store as PromiseRejectedResult).reason;
    }
    try {
      assertNoProblems(discovery.value.problems);
    } catch (err) {
      await abandon();
      throw err;
    }
    for (const p of discovery.value.problems) log.warn(p.message);
    const app = new Celeriac(dir, modules, plugins, discovery.value.tasks, store.value, settings, log, pool, options.logJobs ? new JobLog(sink) : undefined);
    created = app;
    app.reloadSource = { taskPaths, cwd, files: discovery.value.modules.map((m) => m.file) };
    store.value.onLost((err) => app.stopOnFailure(err));
    // Closing stops the dispatcher at once and the read of the data dir at its next slice.
    const onAbort = () => void app.close();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      if (options.signal?.aborted) throw aborted();
      // With `start`, the jobs the snapshot lists first run while the rest of it is read —
      // unless messages wait in the inbox (a cancel, a send made while no worker ran): those
      // are applied before any job runs, so the dispatcher then starts after the inbox.
      const early = options.start === true && !(await inboxHasMessages(dir));
      if (early) await app.start();
      await store.value.loadRest((jobs) => app.scheduleLoaded(jobs));
      const report = store.value.report;
      if (report.truncated) {
        log.warn(`the journal's last record was torn (the previous process stopped mid-write): cut ${report.truncated.bytes} bytes at byte ${report.truncated.offset} of ${report.truncated.file}; every acknowledged job is intact`);
      }
      if (report.interrupted > 0) log.info(`${report.interrupted} job(s) were running when the previous process stopped: they will run again, flagged recovered`);
      await app.inbox.start();
      if (store.value.failure) throw store.value.failure; // failed while it was read
      if (options.signal?.aborted) throw aborted();
      app.opened = true;
      app.clientSocket = await serveClients(app, dir, log).catch((err: unknown) => {
        log.warn(`could not listen for clients on the data dir's socket (${(err as Error).message}): clients hand work in through the inbox`);
        return undefined;
      });
      if (options.start && !early) await app.start();
    } catch (err) {
      try {
        await app.close();
      } finally {
        if (options.start) await pool.close();
      }
      throw options.signal?.aborted && err instanceof CeleriacError && err.code === 'APP_CLOSED' ? aborted() : (app.failure ?? err);
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
    }
    return app;
  }

  /** The task module files found in the task paths (hot reload updates them). */
  get modules(): string[] {
    return this.moduleFiles;
  }

  /** The tasks the modules define: name, file, line and options. */
  get tasks(): TaskManifestEntry[] {
    return [...this.tasksByName.values()];
  }

  /** Worker threads in the pool. */
  get poolSize(): number {
    return this.settings.concurrency;
  }

  /** How many jobs are on record in each state. */
  counts(): Record<JobState, number> {
    const counts = Object.fromEntries(JOB_STATES.map((s) => [s, 0])) as Record<JobState, number>;
    for (const job of this.store.jobs.values()) counts[job.state]++;
    return counts;
  }

  /** What the last open found on disk. */
  get recovery(): RecoveryReport {
    return this.store.report;
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
    this.dispatcher.start();
    const sweepMs = Math.min(this.settings.resultTtlMs, 60_000);
    this.sweeper = setInterval(() => this.sweep(), sweepMs);
    this.sweeper.unref();
    if (this.settings.watch) await this.startWatching();
  }

  // --- hot reload (watch: true) ---------------------------------------------------

  private async startWatching(): Promise<void> {
    const src = this.reloadSource!;
    this.watcher = new TaskWatcher({
      paths: [...src.taskPaths.map((p) => resolve(src.cwd, p)), ...this.plugins.map((p) => p.entry), ...src.files],
      exclude: [this.dir],
      onChange: () => this.reload(),
      onError: (err) => this.log.error(`watching the task modules: ${err.message}`),
    });
    await this.watcher.ready;
  }

  /** Load the code on disk now in a new worker generation; if it does not load cleanly, the old one keeps serving. */
  private async reload(): Promise<void> {
    const { taskPaths, cwd } = this.reloadSource!;
    const began = Date.now();
    let modules: string[];
    try {
      modules = await findTaskModules(taskPaths, cwd); // files added or removed
    } catch (err) {
      this.log.error(`reload: ${(err as Error).message}; the previous code keeps running`);
      return;
    }
    const result = await this.pool.reload(modules, this.plugins);
    if (this.closing) return;
    if (!result.ok) {
      for (const p of result.problems) if (p.kind !== 'empty') this.log.error(p.message);
      this.log.error(`reload failed${result.error ? ` (${result.error})` : ''}: the previous code keeps running; save a fix to try again`);
      return;
    }
    for (const p of result.problems) this.log.warn(p.message);
    const before = new Set(this.tasksByName.keys());
    this.tasksByName.clear();
    for (const t of result.tasks) this.tasksByName.set(t.name, t);
    this.moduleFiles = modules;
    this.watcher?.add(result.modules.map((m) => m.file));
    const added = result.tasks.filter((t) => !before.has(t.name)).map((t) => t.name);
    const removed = [...before].filter((n) => !this.tasksByName.has(n));
    const changes = [added.length ? `added ${added.join(', ')}` : '', removed.length ? `removed ${removed.join(', ')}` : ''].filter(Boolean).join('; ');
    this.log.info(`reloaded the task modules in ${Date.now() - began} ms (${result.tasks.length} tasks${changes ? `; ${changes}` : ''})`);
  }

  // --- sending ------------------------------------------------------------------

  /**
   * One signature, not overloads, so that a type error names the argument that is wrong
   * rather than "TaskDefinition is not assignable to string". `send<Result>('name', …)`
   * is the untyped form.
   */
  send<Result = unknown, T extends string | TaskDefinition = string>(task: T, ...rest: SendRest<T>): Promise<JobHandle<SentResult<T, Result>>>;
  async send(taskOrDef: string | TaskDefinition, args: unknown = [], options?: SendOptions): Promise<JobHandle<unknown>> {
    const task = this.taskFor(taskOrDef);
    const make = jobFactory(task, options, Date.now());
    const job = make(encodeArgs(task, args));
    const id = job.id;
    if (this.store.jobs.has(id)) return this.handle(id, false);
    const inProgress = this.accepting.get(id);
    if (inProgress) {
      await inProgress;
      return this.handle(id, false);
    }
    this.assertOpen();
    // Fast path: with a slot free and nothing waiting, accept and start the job in the
    // same flush, saving one disk write on the way to a worker.
    const startNow = job.runAt === 0 && this.dispatcher.claimNow();
    const events: JobEvent[] = startNow ? [{ type: 'add', job }, { type: 'start', id, at: job.createdAt }] : [{ type: 'add', job }];
    const committing = this.store.commit(events);
    this.accepting.set(id, committing);
    try {
      await committing;
    } catch (err) {
      if (startNow) this.dispatcher.releaseClaim();
      throw err;
    } finally {
      this.accepting.delete(id);
    }
    const rec = this.store.jobs.get(id)!;
    this.jobLog?.received(rec);
    if (startNow && rec.state === 'started') this.dispatcher.runStarted(rec);
    else {
      if (startNow) this.dispatcher.releaseClaim();
      this.dispatcher.schedule(rec);
    }
    return this.handle(id, true);
  }

  /**
   * Send one job per item, all durable with one flush. An item is an argument list, or
   * `{ args, ...options }` with options of its own over the shared ones (an `id`: a known
   * id creates nothing and its handle has `created === false`, as with send()).
   */
  sendMany<Result = unknown, T extends string | TaskDefinition = string>(task: T, argsList: SendManyArgs<T>, options?: Omit<SendOptions, 'id'>): Promise<JobHandle<SentResult<T, Result>>[]>;
  async sendMany(taskOrDef: string | TaskDefinition, argsList: unknown, options?: Omit<SendOptions, 'id'>): Promise<JobHandle<unknown>[]> {
    const task = this.taskFor(taskOrDef);
    const jobs = manyJobs(task, argsList, options, Date.now());
    this.assertOpen();
    // Dedup as send() does: a known id, one being accepted, or one earlier in this list.
    const fresh: NewJob[] = [];
    const created: boolean[] = [];
    const others: Promise<void>[] = [];
    const inList = new Set<string>();
    for (const { job, chosenId } of jobs) {
      const known = chosenId && (this.store.jobs.has(job.id) || inList.has(job.id));
      const inProgress = chosenId && !known ? this.accepting.get(job.id) : undefined;
      if (inProgress) others.push(inProgress);
      if (known || inProgress) {
        created.push(false);
        continue;
      }
      if (chosenId) inList.add(job.id);
      fresh.push(job);
      created.push(true);
    }
    if (fresh.length > 0) {
      const committing = this.store.commit(fresh.map((job) => ({ type: 'add', job })));
      for (const id of inList) this.accepting.set(id, committing);
      try {
        await committing;
      } finally {
        for (const id of inList) this.accepting.delete(id);
      }
      for (const job of fresh) {
        const rec = this.store.jobs.get(job.id)!;
        this.jobLog?.received(rec);
        this.dispatcher.schedule(rec);
      }
    }
    await Promise.all(others);
    return jobs.map(({ job }, i) => this.handle(job.id, created[i]!));
  }

  private taskFor(taskOrDef: string | TaskDefinition): TaskManifestEntry {
    const name = isTaskDefinition(taskOrDef) ? taskOrDef.name : taskOrDef;
    if (typeof name !== 'string') throw new CeleriacError('UNKNOWN_TASK', `send(): the task must be a task name (string) or a task definition, got ${typeof name}`);
    const task = this.tasksByName.get(name);
    if (!task) throw unknownTaskError(name, this.tasksByName.keys(), this.modules);
    return task;
  }

  private assertOpen(): void {
    if (this.failure) throw this.failure;
    if (this.closing) throw new CeleriacError('APP_CLOSED', 'the app is closing or closed: it accepts no new jobs');
  }

  // --- work handed in by other processes ------------------------------------------

  /** Apply one inbox message durably, or throw a CeleriacError saying why it is refused (nothing applied). */
  private async applyInboxMessage(message: InboxMessage): Promise<void> {
    switch (message.kind) {
      case 'send': {
        const jobs = message.jobs.map((j, i) => this.checkHandedIn(j, i));
        const fresh = jobs.filter((j) => !this.store.jobs.has(j.id));
        if (fresh.length === 0) return;
        await this.store.commit(fresh.map((job) => ({ type: 'add', job })));
        for (const j of fresh) {
          const rec = this.store.jobs.get(j.id);
          if (rec) this.jobLog?.received(rec);
          if (rec && WAITING_STATES.has(rec.state)) this.dispatcher.schedule(rec);
        }
        // Sent while no worker ran: found at the open, like the jobs on disk.
        if (!this.opened) this.store.report.found.pending += fresh.length;
        return;
      }
      case 'cancel':
        // Every id is checked before any is cancelled: a refused message applied nothing.
        message.ids.forEach((id, i) => {
          try {
            checkId('cancel', id);
          } catch {
            throw new CeleriacError('INVALID_ARGS', `inbox cancel message: ids[${i}] is not a job id (${JSON.stringify(id) ?? String(id)}); no job of this message was cancelled`);
          }
        });
        for (const id of message.ids) await this.cancel(id);
        return;
      case 'purge': {
        const states = new Set(message.states);
        for (const s of states) if (!(JOB_STATES as readonly string[]).includes(s)) throw new CeleriacError('INVALID_ARGS', `unknown job state "${s}" (states: ${JOB_STATES.join(', ')})`);
        const at = Date.now();
        const events: JobEvent[] = [];
        for (const job of this.store.jobs.values()) if (FINISHED_STATES.has(job.state) && states.has(job.state)) events.push({ type: 'forget', id: job.id, at });
        if (events.length) await this.store.commit(events);
        return;
      }
    }
  }

  /** A job written by another process: trust nothing in it. */
  private checkHandedIn(j: NewJob, index: number): NewJob {
    const where = `inbox job #${index}`;
    if (typeof j !== 'object' || j === null) throw new CeleriacError('INVALID_ARGS', `${where} is not an object`);
    const task = this.tasksByName.get(j.task);
    if (!task) throw unknownTaskError(String(j.task), this.tasksByName.keys(), this.modules);
    checkId(j.task, j.id);
    if (typeof j.args !== 'string') throw new CeleriacError('INVALID_ARGS', `${where}: args must be the JSON text of an array`);
    let args: unknown;
    try {
      args = JSON.parse(j.args);
    } catch (err) {
      throw new CeleriacError('INVALID_ARGS', `${where}: args is not valid JSON (${(err as Error).message})`);
    }
    const time = (v: unknown, name: string) => {
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > MAX_INSTANT_MS) {
        throw new CeleriacError('INVALID_SEND_OPTIONS', `${where}: ${name} must be epoch milliseconds within the range of a Date (0 to ${MAX_INSTANT_MS}), got ${JSON.stringify(v)}`);
      }
      return v;
    };
    const job: NewJob = {
      id: j.id,
      task: j.task,
      args: encodeArgs(task, args),
      createdAt: time(j.createdAt, 'createdAt'),
      runAt: time(j.runAt, 'runAt'),
      expiresAt: time(j.expiresAt, 'expiresAt'),
      priority: Number.isInteger(j.priority) ? j.priority : task.priority,
    };
    if (j.maxRetries !== undefined) {
      if (j.maxRetries !== null && !(Number.isInteger(j.maxRetries) && j.maxRetries >= -1)) throw new CeleriacError('INVALID_SEND_OPTIONS', `${where}: bad maxRetries`);
      // JSON has no Infinity: -1 (or null) stands for no limit.
      job.maxRetries = j.maxRetries === -1 || j.maxRetries === null ? Number.POSITIVE_INFINITY : j.maxRetries;
    }
    if (j.retryDelay !== undefined) job.retryDelay = time(j.retryDelay, 'retryDelay');
    return job;
  }

  // --- events ---------------------------------------------------------------------

  /**
   * Listen for a job event, told once the change is durable: received, started,
   * progress, retrying, succeeded, failed, cancelled, expired. A listener that throws is
   * logged and affects neither the job nor other listeners.
   */
  on(type: CeleriacEventType, listener: CeleriacEventListener): this {
    if (!(EVENT_TYPES as readonly string[]).includes(type)) throw new CeleriacError('INVALID_ARGS', `on(): unknown event "${String(type)}" (events: ${EVENT_TYPES.join(', ')})`);
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

  get(id: string): JobInfo | undefined {
    const job = this.store.jobs.get(id);
    return job ? jobInfo(job) : undefined;
  }

  /**
   * Jobs on record, newest first, a page at a time, with the filters of `celeriac list`:
   * `{ state, task, limit, after }`; `after` is the `next` of the previous page.
   */
  async list(options?: ListOptions): Promise<JobPage> {
    return listJobs(this.store.jobs.values(), parseListOptions(options, 'list()'));
  }

  /** A handle to a known job (for example one sent by an earlier process). */
  job<Result = unknown>(id: string): JobHandle<Result> | undefined {
    return this.store.jobs.has(id) ? (this.handle(id, false) as JobHandle<Result>) : undefined;
  }

  /** Cancel a job that has not finished: a waiting one never runs; a running one sees its AbortSignal fire. */
  async cancel(id: string): Promise<boolean> {
    checkId('cancel', id);
    const job = this.store.jobs.get(id);
    if (!job || FINISHED_STATES.has(job.state)) return false;
    // A reserved job may be handed to a worker while the cancel is written: abort it there too.
    const wasRunning = job.state === 'started' || job.state === 'reserved';
    await this.store.commit([{ type: 'cancel', id, at: Date.now() }]);
    if (job.state !== 'cancelled') return false;
    if (wasRunning) this.pool.abort(id, 'cancelled');
    this.waiters.settle(job);
    return true;
  }

  private handle(id: string, created: boolean): JobHandle<unknown> {
    return new Handle(id, created, this);
  }

  /** The result of a job by id (what `handle.result()` calls). */
  result(id: string, opts: ResultOptions = {}): Promise<unknown> {
    const job = this.store.jobs.get(id);
    if (!job) return Promise.reject(new CeleriacError('RESULT_GONE', `job ${id} is unknown: never sent here, or finished longer ago than resultTtl and dropped`));
    if (this.failure && !FINISHED_STATES.has(job.state)) return Promise.reject(this.failure);
    return this.waiters.wait(job, opts.timeout);
  }

  private sweep(): void {
    const cutoff = Date.now() - this.settings.resultTtlMs;
    for (const job of this.store.jobs.values()) {
      if (FINISHED_STATES.has(job.state) && (job.finishedAt ?? 0) <= cutoff) {
        this.store.compact().catch((err) => this.log.error(`compaction failed: ${(err as Error).message}`));
        return;
      }
    }
  }

  /** Resolves once nothing is due, queued or running (jobs waiting for a later time do not count). */
  async idle(): Promise<void> {
    for (;;) {
      const busy = this.dispatcher.busy || this.accepting.size > 0;
      if (!busy) return;
      await new Promise((r) => setTimeout(r, 10));
    }
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
   * The data dir failed (the store refuses every write from now on): fail whoever waits
   * for a result, stop (running jobs are aborted: their outcomes could not be recorded;
   * they stay started on disk and run again, flagged recovered, after a restart), then
   * resolve `failed`.
   */
  stopOnFailure(err: CeleriacError): void {
    if (this.failure) return;
    this.failure = err;
    this.log.error(err.message);
    this.waiters.rejectAll(err);
    void this.close({ timeout: 0 })
      .catch((e: unknown) => this.log.error(`while stopping after the failure: ${(e as Error).message}`))
      .finally(() => this.markFailed(err));
  }

  private async shutdown(): Promise<void> {
    await this.clientSocket?.close();
    await this.watcher?.close();
    await this.inbox.stop();
    clearInterval(this.sweeper);
    await this.dispatcher.stop(() => this.shutdownDeadline);
    this.running = false;
    await this.store.close();
    this.waiters.rejectAll();
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

  info(): JobInfo | undefined {
    return this.app.get(this.id);
  }
}

function checkLogger(logger: unknown): void {
  if (logger === undefined || logger === false) return;
  const ok = logger !== null && typeof logger === 'object' && (['info', 'warn', 'error'] as const).every((m) => typeof (logger as Record<string, unknown>)[m] === 'function');
  if (!ok) {
    const got = logger === null ? 'null' : typeof logger === 'object' || typeof logger === 'function' ? `an ${typeof logger} without them` : `${typeof logger} ${String(logger)}`;
    throw new CeleriacError('INVALID_CONFIG', `createCeleriac(): "logger" must be false or an object with info, warn and error methods (console works), got ${got}`);
  }
}

function resolveSettings(o: CeleriacOptions): Settings {
  const guard = <T>(fn: () => T): T => {
    try {
      return fn();
    } catch (err) {
      throw new CeleriacError('INVALID_CONFIG', `createCeleriac(): ${(err as Error).message}`);
    }
  };
  const positiveInt = (v: unknown, name: string, dflt: number, max = Number.MAX_SAFE_INTEGER): number => {
    if (v === undefined) return dflt;
    if (!Number.isInteger(v) || (v as number) < 1) throw new CeleriacError('INVALID_CONFIG', `createCeleriac(): "${name}" must be an integer ≥ 1, got ${String(v)}`);
    if ((v as number) > max) throw new CeleriacError('INVALID_CONFIG', `createCeleriac(): "${name}" must be at most ${max}, got ${String(v)}`);
    return v as number;
  };
  return {
    concurrency: positiveInt(o.concurrency, 'concurrency', Math.min(availableParallelism(), MAX_CONCURRENCY), MAX_CONCURRENCY),
    workerConcurrency: positiveInt(o.workerConcurrency, 'workerConcurrency', 1),
    prefetch: positiveInt(o.prefetch, 'prefetch', 64),
    resultTtlMs: o.resultTtl === undefined ? 86_400_000 : guard(() => durationMs(o.resultTtl, 'resultTtl')),
    shutdownTimeoutMs: o.shutdownTimeout === undefined ? 30_000 : guard(() => durationMs(o.shutdownTimeout, 'shutdownTimeout')),
    timeoutGraceMs: o.timeoutGrace === undefined ? 1000 : guard(() => durationMs(o.timeoutGrace, 'timeoutGrace')),
    maxMemoryMb: o.maxMemoryMb === undefined ? undefined : positiveInt(o.maxMemoryMb, 'maxMemoryMb', 0),
    maxWorkerLosses: positiveInt(o.maxWorkerLosses, 'maxWorkerLosses', 3),
    maxResultBytes: positiveInt(o.maxResultBytes, 'maxResultBytes', 16 * 1024 * 1024),
    compactAfterBytes: positiveInt(o.compactAfterBytes, 'compactAfterBytes', 64 * 1024 * 1024),
    watch: o.watch === true,
  };
}
