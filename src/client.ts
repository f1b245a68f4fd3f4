// Sending and reading from another process than the data dir's owner: the CLI, a
// script, a second app. Sends and cancels go through the owner's inbox (durable when
// the call returns, whether or not the owner runs); reads replay the data dir
// read-only, without its lock.
import { resolve } from 'node:path';
import pRetry from 'p-retry';
import { CeleriacError } from './errors.js';
import { readInboxReadOnly, submitToInbox } from './inbox.js';
import { FINISHED_STATES, newRecord, type JobRecord, type JobState, type NewJob } from './jobs.js';
import { jobInfo, outcomeOf } from './job-view.js';
import { listJobs, parseListOptions, type JobPage, type ListOptions } from './job-query.js';
import type { ModuleProblem, TaskManifestEntry } from './pool/protocol.js';
import { assertNoProblems, discoverTasks, findTaskModules } from './registry/discover.js';
import { resolvePlugin } from './registry/plugins.js';
import { encodeArgs, jobFactory, manyJobs, unknownTaskError } from './send.js';
import type { JobInfo, SendOptions } from './send-types.js';
import { ConcurrentChange, loadState } from './store/load.js';
import type { SendManyArgs, SendRest, TaskDefinition } from './task.js';

export interface ClientOptions {
  /** The data dir of the app that will run the jobs. */
  dir: string;
  /** The same task paths the owner loads: when given (or plugins), sends are checked against the real task list. */
  tasks?: string | string[];
  plugins?: string[];
  cwd?: string;
}

export interface SubmittedJob {
  id: string;
  /** The inbox file holding the job until the owner takes it. */
  file: string;
}

/** Defaults for a task the client cannot see (no tasks given): the owner applies the task's own when it runs. */
const unseenTask = (name: string): TaskManifestEntry => ({ name, file: '', line: 0, priority: 0, expiresMs: 0, timeoutMs: 0, maxRetries: 0, retryDelayMs: 0 });

export class CeleriacClient {
  private readonly byName: Map<string, TaskManifestEntry> | undefined;

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
  }

  private task(name: string): TaskManifestEntry {
    if (typeof name !== 'string') throw new CeleriacError('UNKNOWN_TASK', `send(): the task must be a name, got ${typeof name}`);
    if (!this.byName) return unseenTask(name);
    const t = this.byName.get(name);
    if (!t) {
      const err = unknownTaskError(name, this.byName.keys(), this.modules);
      const broken = this.problems.filter((p) => p.kind === 'import' || p.kind === 'plugin');
      if (broken.length) err.message += `; it may be defined in a module that did not load:\n${broken.map((p) => `  - ${p.message}`).join('\n')}`;
      throw err;
    }
    return t;
  }

  /** Hand a job to the owner; durable when this resolves. */
  send<T extends string | TaskDefinition = string>(task: T, ...rest: SendRest<T>): Promise<SubmittedJob>;
  async send(taskOrDef: string | TaskDefinition, args: unknown[] = [], options?: SendOptions): Promise<SubmittedJob> {
    const name = typeof taskOrDef === 'string' ? taskOrDef : taskOrDef.name;
    const task = this.task(name);
    const job = jobFactory(task, options, Date.now())(encodeArgs(task, args));
    const file = await submitToInbox(this.dir, { v: 1, kind: 'send', jobs: [wireJob(job)] });
    return { id: job.id, file };
  }

  /** Hand many jobs to the owner in one inbox message; items as in app.sendMany (an id of their own, dedup by the owner). */
  sendMany<T extends string | TaskDefinition = string>(task: T, argsList: SendManyArgs<T>, options?: Omit<SendOptions, 'id'>): Promise<SubmittedJob[]>;
  async sendMany(taskOrDef: string | TaskDefinition, argsList: unknown, options?: Omit<SendOptions, 'id'>): Promise<SubmittedJob[]> {
    const name = typeof taskOrDef === 'string' ? taskOrDef : taskOrDef.name;
    const jobs = manyJobs(this.task(name), argsList, options, Date.now()).map((j) => j.job);
    const once = new Map<string, NewJob>();
    for (const j of jobs) if (!once.has(j.id)) once.set(j.id, j); // an id twice in the list: the first job
    const file = await submitToInbox(this.dir, { v: 1, kind: 'send', jobs: [...once.values()].map(wireJob) });
    return jobs.map((j) => ({ id: j.id, file }));
  }

  /** Ask the owner to cancel jobs (applied when it reads its inbox). */
  async cancel(...ids: string[]): Promise<void> {
    await submitToInbox(this.dir, { v: 1, kind: 'cancel', ids });
  }

  /** Ask the owner to drop finished jobs in these states (`celeriac clear`). */
  async purge(states: JobState[]): Promise<void> {
    await submitToInbox(this.dir, { v: 1, kind: 'purge', states });
  }

  /** Every job on record, plus jobs still waiting in the inbox (shown as pending). */
  async jobs(): Promise<Map<string, JobRecord>> {
    return readJobs(this.dir);
  }

  async get(id: string): Promise<JobInfo | undefined> {
    const job = (await this.jobs()).get(id);
    return job ? jobInfo(job) : undefined;
  }

  /** As app.list(): jobs on record (and waiting in the inbox, as pending), newest first, a page at a time. */
  async list(options?: ListOptions): Promise<JobPage> {
    const query = parseListOptions(options, 'client.list()');
    return listJobs((await this.jobs()).values(), query);
  }

  /** Wait for a job to finish by re-reading the data dir; resolves with its result. */
  async result(id: string, { timeout = 60_000, pollMs = 50 }: { timeout?: number; pollMs?: number } = {}): Promise<unknown> {
    const until = Date.now() + timeout;
    for (;;) {
      const job = (await this.jobs()).get(id);
      if (job && FINISHED_STATES.has(job.state)) return outcomeOf(job);
      if (Date.now() > until) {
        throw new CeleriacError('RESULT_TIMEOUT', `job ${id} did not finish within ${timeout} ms (it is ${job ? job.state : 'unknown'}${job ? '' : ': is a worker running on this data dir?'})`);
      }
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }
}

/** JSON has no Infinity: an unlimited maxRetries travels as -1. */
function wireJob(job: NewJob): NewJob {
  return job.maxRetries === Number.POSITIVE_INFINITY ? { ...job, maxRetries: -1 } : job;
}

/** Read a data dir without owning it; retried when the owner compacts under the reader. */
export async function readJobs(dir: string): Promise<Map<string, JobRecord>> {
  const state = await pRetry(
    async () => {
      try {
        return await loadState(dir, { readOnly: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT' && (err as NodeJS.ErrnoException).path === dir) return undefined;
        throw err;
      }
    },
    { retries: 5, minTimeout: 10, shouldRetry: ({ error }) => error instanceof ConcurrentChange },
  );
  const jobs = state?.jobs ?? new Map<string, JobRecord>();
  for (const job of await readInboxReadOnly(dir)) if (!jobs.has(job.id)) jobs.set(job.id, newRecord(job));
  return jobs;
}

export async function createClient(options: ClientOptions): Promise<CeleriacClient> {
  const cwd = options.cwd ?? process.cwd();
  if (typeof options.dir !== 'string' || options.dir === '') throw new CeleriacError('INVALID_CONFIG', 'createClient(): "dir" (the data dir) is required');
  const dir = resolve(cwd, options.dir);
  const paths = typeof options.tasks === 'string' ? [options.tasks] : (options.tasks ?? []);
  const pluginNames = options.plugins ?? [];
  if (paths.length === 0 && pluginNames.length === 0) return new CeleriacClient(dir, undefined, []);
  const modules = await findTaskModules(paths, cwd);
  const discovery = await discoverTasks(modules, pluginNames.map((n) => resolvePlugin(n, cwd)));
  // Two tasks with one name is a setup error; a module that fails to import is left out
  // (listed in client.problems) and only sends that need it fail.
  assertNoProblems(discovery.problems.filter((p) => p.kind === 'duplicate'));
  return new CeleriacClient(dir, discovery.tasks, modules, discovery.problems.filter((p) => p.kind !== 'empty'));
}

