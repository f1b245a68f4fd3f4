// Sending and reading from another process than the data dir's owner: a web app, the
// CLI, a script. While a worker owns the dir, the client talks to it over its client
// socket (<dir>/client.sock): a send resolves once the worker made the job durable, and
// reads, cancels, results and events are the worker's own answers. When no worker runs,
// sends and cancels go through the owner's inbox (durable when the call returns) and reads
// replay the data dir read-only. Every send carries its id from the start, so a send
// whose answer was lost with a dying worker is handed in again by the same id and the
// worker keeps one job.
import { randomUUID } from 'node:crypto';
import { join, resolve } from 'node:path';
import { Disconnected, SocketConnection, type RequestBody } from './client/socket-connection.js';
import { CeleriacError } from './errors.js';
import type { CeleriacEvent, CeleriacEventListener, CeleriacEventType } from './events.js';
import { EVENT_TYPES } from './events.js';
import { readInboxReadOnly, submitToInbox } from './inbox.js';
import { FINISHED_STATES, JOB_STATES, type JobRecordText, type JobState, type NewJob } from './jobs.js';
import { jobInfo, outcomeOf } from './job-view.js';
import { listJobs, parseListOptions, type JobPage, type ListOptions } from './job-query.js';
import type { ModuleProblem, TaskManifestEntry } from './registry/types.js';
import { assertNoProblems, discoverTasks, findTaskModules } from './registry/discover.js';
import { resolvePlugin } from './registry/plugins.js';
import { unseenTask } from './registry/unseen-task.js';
import { readJobs } from './read-jobs.js';
import { unknownTaskError } from './registry/task-errors.js';
import { encodeArgs, jobFactory, manyJobs } from './send.js';
import type { JobHandle, JobInfo, ResultOptions, SendManyItem, SendOptions } from './send-types.js';
import { CLIENT_SOCKET_FILE, reviveEvent, reviveInfo, type SentJob } from './socket/protocol.js';
import { resultTimeoutMs } from './result-timeout.js';
import { isTaskDefinition, type SendManyArgs, type SendRest, type SentResult, type TaskDefinition } from './task.js';

export interface ClientOptions {
  /** The data dir of the app that will run the jobs. */
  dir: string;
  /** The same task paths the owner loads: when given (or plugins), sends are checked against the real task list. */
  tasks?: string | string[];
  plugins?: string[];
  cwd?: string;
}

/** After a failed connect, sends go to the inbox without trying again for this long. */
const RECONNECT_MS = 50;
/** While no worker runs, result() re-reads the data dir this often (a job may have finished before it stopped). */
const OFFLINE_READ_MS = 1000;

/** Errors of a send over the socket after which the worker did not keep it, or may not have: hand it in through the inbox. */
function handInstead(err: unknown): boolean {
  if (err instanceof Disconnected) return true;
  const code = err instanceof CeleriacError ? err.code : undefined;
  return code === 'APP_CLOSED' || code === 'STORE_FAILED' || code === 'DATA_DIR_LOST';
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class CeleriacClient {
  private readonly byName: Map<string, TaskManifestEntry> | undefined;
  private readonly socketPath: string;
  private conn: SocketConnection | undefined;
  private connecting: Promise<SocketConnection | undefined> | undefined;
  private failedAt = Number.NEGATIVE_INFINITY;
  private closed = false;
  private readonly listeners = new Map<CeleriacEventType, Set<CeleriacEventListener>>();
  private reconnector: NodeJS.Timeout | undefined;
  /** The last subscribe request sent: subscribed() waits for the worker's answer to it. */
  private subscribing: Promise<unknown> = Promise.resolve();

  constructor(
    readonly dir: string,
    readonly tasks: TaskManifestEntry[] | undefined,
    private readonly modules: string[],
    /**
     * Task modules or plugins that did not load (file:line and why). Sends to the tasks that
     * did load work all the same: one module being edited must not stop every send.
     */
    readonly problems: ModuleProblem[] = [],
  ) {
    this.byName = tasks ? new Map(tasks.map((t) => [t.name, t])) : undefined;
    this.socketPath = join(dir, CLIENT_SOCKET_FILE);
  }

  private task(name: string): TaskManifestEntry {
    if (typeof name !== 'string')
      throw new CeleriacError('UNKNOWN_TASK', `send(): the task must be a name or a task definition, got ${typeof name}`);
    if (!this.byName) return unseenTask(name);
    const t = this.byName.get(name);
    if (!t) {
      const err = unknownTaskError(name, this.byName.keys(), this.modules);
      const broken = this.problems.filter((p) => p.kind === 'import' || p.kind === 'plugin');
      if (broken.length)
        err.message += `; it may be defined in a module that did not load:\n${broken.map((p) => `  - ${p.message}`).join('\n')}`;
      throw err;
    }
    return t;
  }

  // --- the connection -------------------------------------------------------------

  /** Whether a worker answers on the dir's socket now (connecting if need be). */
  async connected(): Promise<boolean> {
    return (await this.connection()) !== undefined;
  }

  /** The open connection to the worker, or undefined when none runs (tried again after RECONNECT_MS). */
  private connection(force = false): Promise<SocketConnection | undefined> {
    if (this.conn && !this.conn.closed) return Promise.resolve(this.conn);
    if (this.closed) return Promise.resolve(undefined);
    if (this.connecting) return this.connecting;
    if (!force && Date.now() - this.failedAt < RECONNECT_MS) return Promise.resolve(undefined);
    this.connecting = SocketConnection.connect(
      this.socketPath,
      (e) => this.emit(e),
      () => this.disconnected(),
    ).then(async (c) => {
      this.connecting = undefined;
      if (!c || this.closed) {
        c?.close();
        this.failedAt = Date.now();
        return undefined;
      }
      this.conn = c;
      if (this.listeners.size) {
        await c.request({ op: 'subscribe', events: [...this.listeners.keys()] }).catch(() => undefined);
      }
      return c;
    });
    return this.connecting;
  }

  private disconnected(): void {
    this.conn = undefined;
    this.failedAt = Date.now();
    this.keepReconnecting();
  }

  /** Subscribed to events: reconnect by itself when a worker (re)starts. */
  private keepReconnecting(): void {
    if (this.reconnector || this.closed || this.listeners.size === 0) return;
    this.reconnector = setInterval(() => {
      if (this.conn || this.listeners.size === 0 || this.closed) {
        clearInterval(this.reconnector);
        this.reconnector = undefined;
        return;
      }
      void this.connection(true);
    }, 100);
    this.reconnector.unref(); // listening alone does not keep the process alive
  }

  /** A request to the worker; undefined when none runs or it went away before answering. */
  private async ask(body: RequestBody): Promise<{ value: unknown } | undefined> {
    const c = await this.connection();
    if (!c) return undefined;
    try {
      return { value: await c.request(body) };
    } catch (err) {
      if (err instanceof Disconnected) return undefined;
      throw err;
    }
  }

  /** Close the connection to the worker (sends made after go through the inbox until it reconnects). */
  close(): void {
    this.closed = true;
    clearInterval(this.reconnector);
    this.conn?.close();
  }

  // --- sending --------------------------------------------------------------------

  /**
   * Send a job: durable when this resolves (made durable by the running worker, or handed
   * in through the inbox when none runs). `client.send(def, args)` checks the argument
   * and result types as app.send does; `client.send<Result>('name', args)` is the untyped form.
   */
  send<Result = unknown, T extends string | TaskDefinition = string>(
    task: T,
    ...rest: SendRest<T>
  ): Promise<JobHandle<SentResult<T, Result>>>;
  async send(taskOrDef: string | TaskDefinition, args: unknown[] = [], options: SendOptions = {}): Promise<JobHandle<unknown>> {
    const name = isTaskDefinition(taskOrDef) ? taskOrDef.name : taskOrDef;
    const task = this.task(name);
    // Given an id now, a resend after a lost answer cannot make a second job.
    const withId: SendOptions = options.id === undefined ? { ...options, id: randomUUID() } : options;
    const make = jobFactory(task, withId, Date.now());
    const encoded = encodeArgs(task, args); // checked here: a refused send leaves nothing anywhere
    try {
      const sent = (await this.ask({ op: 'send', task: name, args, options: withId })) as { value: SentJob } | undefined;
      if (sent) return new ClientHandle(sent.value.id, sent.value.created, this);
    } catch (err) {
      if (!handInstead(err)) throw err;
    }
    const job = make(encoded);
    const file = await submitToInbox(this.dir, { v: 1, kind: 'send', jobs: [wireJob(job)] });
    return new ClientHandle(job.id, true, this, file);
  }

  /** Send many jobs, durable together; items as in app.sendMany (an id of their own, dedup by the owner). */
  sendMany<Result = unknown, T extends string | TaskDefinition = string>(
    task: T,
    argsList: SendManyArgs<T>,
    options?: Omit<SendOptions, 'id'>,
  ): Promise<JobHandle<SentResult<T, Result>>[]>;
  async sendMany(taskOrDef: string | TaskDefinition, argsList: unknown, options?: Omit<SendOptions, 'id'>): Promise<JobHandle<unknown>[]> {
    const name = isTaskDefinition(taskOrDef) ? taskOrDef.name : taskOrDef;
    const task = this.task(name);
    if (!Array.isArray(argsList))
      throw new CeleriacError('INVALID_ARGS', `sendMany(${name}): the list must be an array of argument lists, got ${typeof argsList}`);
    // Every item gets its id now, for the same reason as in send().
    const items: SendManyItem[] = (argsList as unknown[]).map((item) =>
      Array.isArray(item)
        ? { args: item, id: randomUUID() }
        : item !== null && typeof item === 'object' && (item as SendOptions).id === undefined
          ? ({ ...(item as SendManyItem & object), id: randomUUID() } as SendManyItem)
          : (item as SendManyItem),
    );
    const jobs = manyJobs(task, items, options, Date.now()).jobs;
    try {
      const sent = (await this.ask({ op: 'sendMany', task: name, items, ...(options ? { options } : {}) })) as
        | { value: SentJob[] }
        | undefined;
      if (sent) return sent.value.map((s) => new ClientHandle(s.id, s.created, this));
    } catch (err) {
      if (!handInstead(err)) throw err;
    }
    const once = new Map<string, NewJob>();
    for (const j of jobs) if (!once.has(j.id)) once.set(j.id, j); // an id twice in the list: the first job
    const file = await submitToInbox(this.dir, { v: 1, kind: 'send', jobs: [...once.values()].map(wireJob) });
    return jobs.map((j) => new ClientHandle(j.id, true, this, file));
  }

  // --- cancelling -----------------------------------------------------------------

  /**
   * Cancel jobs that have not finished. Resolves true when the running worker cancelled
   * every one; false when one was unknown or already finished, or when no worker runs
   * (the cancel then waits in the inbox and is applied when one starts).
   */
  async cancel(...ids: string[]): Promise<boolean> {
    const c = await this.connection();
    if (c) {
      try {
        const done = await Promise.all(ids.map((id) => c.request({ op: 'cancel', job: id })));
        return done.every((d) => d === true);
      } catch (err) {
        if (!handInstead(err)) throw err;
      }
    }
    await submitToInbox(this.dir, { v: 1, kind: 'cancel', ids });
    return false;
  }

  /** Ask the owner to drop finished jobs in these states (`celeriac clear`). */
  async purge(states: JobState[]): Promise<void> {
    await submitToInbox(this.dir, { v: 1, kind: 'purge', states });
  }

  // --- reading --------------------------------------------------------------------

  /** Every job on record, plus jobs still waiting in the inbox (shown as pending), read from the data dir. */
  async jobs(): Promise<Map<string, JobRecordText>> {
    return readJobs(this.dir);
  }

  async get(id: string): Promise<JobInfo | undefined> {
    const got = await this.ask({ op: 'get', job: id });
    if (got) return reviveInfo(got.value);
    const job = (await this.jobs()).get(id);
    return job ? jobInfo(job) : undefined;
  }

  /** As app.list(): jobs on record (and, with no worker, waiting in the inbox as pending), newest first, a page at a time. */
  async list(options?: ListOptions): Promise<JobPage> {
    const query = parseListOptions(options, 'client.list()');
    const got = await this.ask({ op: 'list', ...(options ? { options } : {}) });
    if (got) {
      const page = got.value as JobPage;
      page.jobs = page.jobs.map((j) => reviveInfo(j)!);
      return page;
    }
    return listJobs((await this.jobs()).values(), query);
  }

  /** How many jobs are in each state. */
  async counts(): Promise<Record<JobState, number>> {
    const got = await this.ask({ op: 'counts' });
    if (got) return got.value as Record<JobState, number>;
    const counts = Object.fromEntries(JOB_STATES.map((s) => [s, 0])) as Record<JobState, number>;
    for (const job of (await this.jobs()).values()) counts[job.state]++;
    return counts;
  }

  /**
   * A handle to a job by id (for one sent earlier, by this or another process). Unlike
   * app.job() it does not ask first whether the id is known: info() resolves undefined then.
   */
  job<Result = unknown>(id: string): JobHandle<Result> {
    return new ClientHandle(id, false, this) as JobHandle<Result>;
  }

  /**
   * Wait for a job to finish and resolve with its result, as handle.result() in the app:
   * rejects with TaskFailedError, or when it was cancelled or expired. While no worker
   * runs it waits for one (a job sent through the inbox runs once one starts); `timeout`
   * (seconds or "500ms") gives up waiting, not the job.
   */
  async result(id: string, options?: ResultOptions): Promise<unknown> {
    const timeoutMs = resultTimeoutMs(options, 'client.result()');
    const deadline = timeoutMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + timeoutMs;
    let readAt = Number.NEGATIVE_INFINITY;
    let state: string | undefined;
    for (;;) {
      const c = await this.connection(true);
      if (c) {
        const left = deadline - Date.now();
        try {
          return await c.request({ op: 'result', job: id, ...(Number.isFinite(left) ? { timeout: Math.max(0, left) } : {}) });
        } catch (err) {
          const code = err instanceof CeleriacError ? err.code : undefined;
          // Unknown to the worker while it still waits in the inbox: the worker takes it soon.
          const inInbox = code === 'RESULT_GONE' && (await readInboxReadOnly(this.dir)).some((j) => j.id === id);
          if (!(err instanceof Disconnected || code === 'APP_CLOSED' || inInbox)) throw err;
          state = inInbox ? 'waiting in the inbox' : state;
        }
      } else if (Date.now() - readAt >= OFFLINE_READ_MS) {
        readAt = Date.now();
        const job = (await this.jobs()).get(id);
        if (job && FINISHED_STATES.has(job.state)) return outcomeOf(job);
        state = job ? `${job.state}; no worker is running on ${this.dir}` : `unknown; no worker is running on ${this.dir}`;
      }
      const left = deadline - Date.now();
      if (left <= 0)
        throw new CeleriacError(
          'RESULT_TIMEOUT',
          `job ${id} did not finish within ${(timeoutMs ?? 0) / 1000} s (it is ${state ?? 'unknown'}); it goes on`,
        );
      await sleep(Math.min(c ? 20 : 100, left));
    }
  }

  // --- events ---------------------------------------------------------------------

  /**
   * Listen for job events of the worker, as app.on(): told once the change is durable.
   * Events while no worker runs (or while reconnecting) are not replayed.
   */
  on(type: CeleriacEventType, listener: CeleriacEventListener): this {
    if (!(EVENT_TYPES as readonly string[]).includes(type))
      throw new CeleriacError('INVALID_ARGS', `client.on(): unknown event "${String(type)}" (events: ${EVENT_TYPES.join(', ')})`);
    if (typeof listener !== 'function') throw new CeleriacError('INVALID_ARGS', `client.on("${type}"): the listener must be a function`);
    let set = this.listeners.get(type);
    if (!set) {
      this.listeners.set(type, (set = new Set()));
      if (this.conn) this.subscribing = this.conn.request({ op: 'subscribe', events: [type] }).catch(() => undefined);
      else void this.connection(true);
      this.keepReconnecting();
    }
    set.add(listener);
    return this;
  }

  /** Stop a listener added with on(). */
  off(type: CeleriacEventType, listener: CeleriacEventListener): this {
    const set = this.listeners.get(type);
    if (!set?.delete(listener) || set.size > 0) return this;
    this.listeners.delete(type);
    if (this.conn) void this.conn.request({ op: 'unsubscribe', events: [type] }).catch(() => undefined);
    return this;
  }

  /** Resolves once the worker has taken the subscriptions made so far (false: no worker runs now; reconnects by itself). */
  async subscribed(): Promise<boolean> {
    if ((await this.connection(true)) === undefined) return false;
    await this.subscribing;
    return true;
  }

  private emit(wire: CeleriacEvent): void {
    const set = this.listeners.get(wire.type);
    if (!set) return;
    const event = reviveEvent(wire);
    for (const listener of set) {
      try {
        listener(event);
      } catch (err) {
        // As in the app: a listener's bug is reported and affects neither jobs nor other listeners.
        console.error(
          `celeriac client: an event listener for "${event.type}" threw: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
        );
      }
    }
  }
}

/**
 * The app's JobHandle, answered by the worker (or the data dir when none runs). A class
 * rather than an object of closures: sendMany makes one per job.
 */
class ClientHandle implements JobHandle<unknown> {
  // Declared, not a class field: a field would be an own key holding undefined on every handle.
  declare readonly inboxFile?: string;

  constructor(
    readonly id: string,
    readonly created: boolean,
    private readonly client: CeleriacClient,
    inboxFile?: string,
  ) {
    // Only when set, so that a handle from the socket has the app's handle's own keys.
    if (inboxFile !== undefined) this.inboxFile = inboxFile;
  }

  result(options?: ResultOptions): Promise<unknown> {
    return this.client.result(this.id, options);
  }

  info(): Promise<JobInfo | undefined> {
    return this.client.get(this.id);
  }
}

/** JSON has no Infinity: an unlimited maxRetries travels as -1. */
function wireJob(job: NewJob): NewJob {
  return job.maxRetries === Number.POSITIVE_INFINITY ? { ...job, maxRetries: -1 } : job;
}

export async function createClient(options: ClientOptions): Promise<CeleriacClient> {
  const cwd = options.cwd ?? process.cwd();
  if (typeof options.dir !== 'string' || options.dir === '')
    throw new CeleriacError('INVALID_CONFIG', 'createClient(): "dir" (the data dir) is required');
  const dir = resolve(cwd, options.dir);
  const paths = typeof options.tasks === 'string' ? [options.tasks] : (options.tasks ?? []);
  const pluginNames = options.plugins ?? [];
  if (paths.length === 0 && pluginNames.length === 0) return new CeleriacClient(dir, undefined, []);
  const modules = await findTaskModules(paths, cwd);
  const discovery = await discoverTasks(
    modules,
    pluginNames.map((n) => resolvePlugin(n, cwd)),
  );
  // Two tasks with one name is a setup error; a module that fails to import is left out
  // (listed in client.problems) and only sends that need it fail.
  assertNoProblems(discovery.problems.filter((p) => p.kind === 'duplicate'));
  return new CeleriacClient(
    dir,
    discovery.tasks,
    modules,
    discovery.problems.filter((p) => p.kind !== 'empty'),
  );
}
