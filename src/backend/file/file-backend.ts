// The file backend (the default): jobs in a data dir on this machine, owned by one
// process. The journal store makes sends durable, the dispatcher takes due jobs to the
// pool and records outcomes, waiters wake result() callers, the inbox consumer applies
// what other processes hand in, and the sweeper drops results past their retention time.
// Data flows one way: accept → store (durable) → dispatcher (ready/delayed → pool) →
// outcome → store → waiters.
import { CeleriacError } from '../../errors.js';
import { InboxConsumer, inboxHasMessages, type InboxMessage } from '../../inbox.js';
import { readJobInfo } from '../../job-view.js';
import { readJobPage, type JobPage, type ParsedListOptions } from '../../job-query.js';
import { FINISHED_STATES, JOB_STATES, WAITING_STATES, type JobEvent, type JobRecord, type JobState, type NewJob } from '../../jobs.js';
import { Dispatcher } from '../../scheduler/dispatcher.js';
import { checkId } from '../../send.js';
import type { JobInfo } from '../../send-types.js';
import { FileStore } from '../../store/file-store.js';
import { jobStates, unparkedRecords } from '../../store/job-table.js';
import type { RecoveryReport } from '../../store/types.js';
import { ResultWaiters } from '../../waiters.js';
import { checkMarkKey, checkMarkValue } from '../marks.js';
import type { Backend, BackendContext } from '../types.js';
import { checkHandedIn } from './handed-in.js';
import { emitApplied } from './journal-events.js';
import { Workflows, type WorkflowHandle, type WorkflowSendOptions } from '../../workflows/engine.js';
import type { Workflow } from '../../workflows/canvas.js';

export interface FileBackendOptions {
  /** The data dir (absolute): journal, snapshot, lock, inbox. */
  dir: string;
  /** Compact the journal into the snapshot after this many bytes. */
  compactAfterBytes: number;
}

/** Jobs counted between two yields to the event loop (a few ms of work). */
const COUNT_SLICE = 50_000;

export class FileBackend implements Backend {
  readonly kind = 'file' as const;
  private readonly dispatcher: Dispatcher;
  private readonly waiters = new ResultWaiters();
  /** Ids whose add is being written: a second send of one waits for it and creates nothing. */
  private readonly accepting = new Map<string, Promise<void>>();
  /** Every send's write in progress, random ids included: idle() waits for them. */
  private readonly writing = new Set<Promise<void>>();
  private readonly inbox: InboxConsumer;
  private readonly workflows: Workflows;
  private sweeper: NodeJS.Timeout | undefined;
  /** load() has finished: jobs handed in from now on were not found at the open. */
  private opened = false;
  private failure: CeleriacError | undefined;

  /**
   * Lock the data dir and read its journal (not yet the snapshot's jobs: load() does, so
   * that the caller can overlap its own start-up with the rest of the read).
   */
  static async open(options: FileBackendOptions, ctx: BackendContext): Promise<FileBackend> {
    let backend: FileBackend | undefined;
    const store = await FileStore.begin({
      dir: options.dir,
      resultTtlMs: ctx.resultTtlMs,
      compactAfterBytes: options.compactAfterBytes,
      onBackgroundError: (e) => ctx.log.error(`compaction failed (the journal is intact; it will be retried): ${(e as Error).message}`),
      onFatal: (e) => backend?.fail(e),
    });
    backend = new FileBackend(options.dir, store, ctx);
    return backend;
  }

  private constructor(
    private readonly dir: string,
    private readonly store: FileStore,
    private readonly ctx: BackendContext,
  ) {
    store.onApplied((events) => emitApplied(events, store.jobs, ctx));
    const jobLog = ctx.jobLog;
    this.dispatcher = new Dispatcher({
      store,
      pool: ctx.pool,
      log: ctx.log,
      onFinished: (job) => {
        this.waiters.settle(job);
        this.workflows.finished(job);
      },
      ...(jobLog ? { onRecorded: (job: JobRecord, ev: JobEvent, runMs: number | undefined) => jobLog.recorded(job, ev, runMs) } : {}),
      capacity: ctx.capacity,
      prefetch: ctx.prefetch,
      timeoutGraceMs: ctx.timeoutGraceMs,
      rateLimitOf: (name) => ctx.task(name)?.rateLimit,
      ...(ctx.queues ? { queues: ctx.queues } : {}),
    });
    this.workflows = new Workflows({
      store,
      schedule: (job) => this.dispatcher.schedule(job),
      task: (name) => ctx.task(name),
      unknownTask: (name) => ctx.unknownTask(name),
      result: (id, timeoutMs) => this.result(id, timeoutMs),
      log: ctx.log,
    });
    this.inbox = new InboxConsumer(dir, (m) => this.applyInboxMessage(m), ctx.log);
  }

  get location(): string {
    return this.dir;
  }

  get recovery(): RecoveryReport {
    return this.store.report;
  }

  async load(options: { startEarly?: () => Promise<void> } = {}): Promise<void> {
    this.store.onLost((err) => this.fail(err));
    // The jobs the snapshot lists first may run while the rest of it is read, unless
    // messages wait in the inbox (a cancel, a send made while no worker ran): those are
    // applied before any job runs, so the app then starts after the inbox.
    const early = options.startEarly !== undefined && !(await inboxHasMessages(this.dir));
    if (early) await options.startEarly!();
    await this.store.loadRest((jobs) => this.scheduleLoaded(jobs));
    await this.workflows.repair(); // steps a crash left uncreated
    const report = this.store.report;
    const log = this.ctx.log;
    if (report.truncated) {
      log.warn(
        `the journal's last record was torn (the previous process stopped mid-write): cut ${report.truncated.bytes} bytes at byte ${report.truncated.offset} of ${report.truncated.file}; every acknowledged job is intact`,
      );
    }
    if (report.interrupted > 0)
      log.info(`${report.interrupted} job(s) were running when the previous process stopped: they will run again, flagged recovered`);
    await this.inbox.start();
    if (this.store.failure) throw this.store.failure; // failed while it was read
    this.opened = true;
  }

  /** Jobs read from the data dir, in the order they should run. */
  private scheduleLoaded(jobs: JobRecord[]): void {
    for (const job of jobs) if (WAITING_STATES.has(job.state)) this.dispatcher.schedule(job);
  }

  async start(): Promise<void> {
    this.dispatcher.start();
    const sweepMs = Math.min(this.ctx.resultTtlMs, 60_000);
    this.sweeper = setInterval(() => this.sweep(), sweepMs);
    this.sweeper.unref();
  }

  // --- accepting jobs -------------------------------------------------------------

  accept(jobs: NewJob[], hint?: { startNow?: boolean; fresh?: boolean[] }): Promise<boolean[]> {
    return jobs.length === 1 && hint?.startNow ? this.acceptOne(jobs[0]!, hint.fresh?.[0] === true) : this.acceptMany(jobs, hint?.fresh);
  }

  /**
   * One job, and with a slot free and nothing waiting, accepted and started in the same
   * flush: one disk write fewer on the way to a worker. A `fresh` id (drawn at random)
   * cannot be known or being accepted: it skips the dedup look-ups and bookkeeping.
   */
  private async acceptOne(job: NewJob, fresh: boolean): Promise<boolean[]> {
    const id = job.id;
    if (!fresh) {
      if (this.store.jobs.has(id)) return [false];
      this.assertIdFree(id);
      const inProgress = this.accepting.get(id);
      if (inProgress) {
        await inProgress;
        return [false];
      }
    }
    this.ctx.assertOpen();
    const startNow = job.runAt === 0 && this.dispatcher.claimNow(job);
    const events: JobEvent[] = startNow
      ? [
          { type: 'add', job },
          { type: 'start', id, at: job.createdAt },
        ]
      : [{ type: 'add', job }];
    const committing = this.store.commit(events);
    if (!fresh) this.accepting.set(id, committing);
    this.writing.add(committing);
    try {
      await committing;
    } catch (err) {
      if (startNow) this.dispatcher.releaseClaim();
      throw err;
    } finally {
      if (!fresh) this.accepting.delete(id);
      this.writing.delete(committing);
    }
    const rec = this.store.jobs.get(id)!;
    this.ctx.jobLog?.received(rec);
    if (startNow && rec.state === 'started') this.dispatcher.runStarted(rec);
    else {
      if (startNow) this.dispatcher.releaseClaim();
      this.dispatcher.schedule(rec);
    }
    return [true];
  }

  /**
   * All new jobs durable with one flush; a known id, one being accepted, or one earlier in
   * the list creates nothing. An id drawn at random here (`fresh[i]`) cannot be any of
   * those, so it skips the look-ups.
   */
  private async acceptMany(jobs: NewJob[], fresh?: boolean[]): Promise<boolean[]> {
    const added: NewJob[] = [];
    const created: boolean[] = new Array(jobs.length);
    const others: Promise<void>[] = [];
    /** Ids the caller chose that this call adds (registered in `accepting` while they are written). */
    const chosen = new Set<string>();
    for (let i = 0; i < jobs.length; i++) {
      const job = jobs[i]!;
      if (fresh?.[i]) {
        added.push(job);
        created[i] = true;
        continue;
      }
      const known = this.store.jobs.has(job.id) || chosen.has(job.id);
      if (!known) this.assertIdFree(job.id);
      const inProgress = known ? undefined : this.accepting.get(job.id);
      if (inProgress) others.push(inProgress);
      if (known || inProgress) {
        created[i] = false;
        continue;
      }
      chosen.add(job.id);
      added.push(job);
      created[i] = true;
    }
    if (added.length > 0) {
      this.ctx.assertOpen();
      const committing = this.store.commit(added.map((job) => ({ type: 'add', job })));
      for (const id of chosen) this.accepting.set(id, committing);
      this.writing.add(committing);
      try {
        await committing;
      } finally {
        for (const id of chosen) this.accepting.delete(id);
        this.writing.delete(committing);
      }
      for (const job of added) {
        const rec = this.store.jobs.get(job.id)!;
        this.ctx.jobLog?.received(rec);
        this.dispatcher.schedule(rec);
      }
    }
    await Promise.all(others);
    return created;
  }

  /**
   * Refuse an id no record has while a run of a job that had it is still in a worker (the
   * job cancelled, then forgotten or dropped, its task deaf to the AbortSignal): the
   * dispatcher knows runs by id, so the new job would take the old run's place.
   */
  private assertIdFree(id: string): void {
    if (this.dispatcher.holds(id))
      throw new CeleriacError(
        'JOB_ID_BUSY',
        `job id ${JSON.stringify(id)} is still in use: the job that had it was cancelled and forgotten while its run goes on in a worker thread (its task does not stop on its AbortSignal); send with this id again once that run has ended, or use another id`,
      );
  }

  // --- work handed in by other processes ------------------------------------------

  /** Apply one inbox message durably, or throw a CeleriacError saying why it is refused (nothing applied). */
  private async applyInboxMessage(message: InboxMessage): Promise<void> {
    switch (message.kind) {
      case 'send': {
        const jobs = message.jobs.map((j, i) => checkHandedIn(j, i, this.ctx));
        const fresh = jobs.filter((j) => !this.store.jobs.has(j.id));
        if (fresh.length === 0) return;
        for (const j of fresh) this.assertIdFree(j.id);
        await this.store.commit(fresh.map((job) => ({ type: 'add', job })));
        for (const j of fresh) {
          const rec = this.store.jobs.get(j.id);
          if (rec) this.ctx.jobLog?.received(rec);
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
            throw new CeleriacError(
              'INVALID_ARGS',
              `inbox cancel message: ids[${i}] is not a job id (${JSON.stringify(id) ?? String(id)}); no job of this message was cancelled`,
            );
          }
        });
        for (const id of message.ids) await this.cancel(id);
        return;
      case 'purge': {
        const states = new Set(message.states);
        for (const s of states)
          if (!(JOB_STATES as readonly string[]).includes(s))
            throw new CeleriacError('INVALID_ARGS', `unknown job state "${s}" (states: ${JOB_STATES.join(', ')})`);
        const at = Date.now();
        const events: JobEvent[] = [];
        for (const job of unparkedRecords(this.store.jobs))
          if (FINISHED_STATES.has(job.state) && states.has(job.state)) events.push({ type: 'forget', id: job.id, at });
        if (events.length) await this.store.commit(events);
        return;
      }
    }
  }

  // --- reading and cancelling -----------------------------------------------------

  async get(id: string): Promise<JobInfo | undefined> {
    const job = this.store.jobs.read(id);
    return job ? readJobInfo(job) : undefined;
  }

  async list(options: ParsedListOptions): Promise<JobPage> {
    const jobs = this.store.jobs;
    // A parked row is a pending job: a list of another state need not look at the rows.
    if (options.state !== undefined && options.state !== 'pending') return readJobPage(unparkedRecords(jobs), options, (job) => job);
    return readJobPage(jobs.listing(), options, (picked) => jobs.recordOf(picked));
  }

  async counts(): Promise<Record<JobState, number>> {
    const counts = Object.fromEntries(JOB_STATES.map((s) => [s, 0])) as Record<JobState, number>;
    // With a million jobs on record a scan takes about a second: it yields now and then so
    // that sends, outcomes and the host's own requests are not held up meanwhile (each job
    // is counted once, in the state it has when the scan reaches it).
    let seen = 0;
    for (const state of jobStates(this.store.jobs)) {
      counts[state]++;
      if (++seen % COUNT_SLICE === 0) await new Promise((r) => setImmediate(r));
    }
    return counts;
  }

  async cancel(id: string): Promise<boolean> {
    const job = this.store.jobs.get(id);
    if (!job || FINISHED_STATES.has(job.state)) return false;
    // A reserved job may be handed to a worker while the cancel is written: abort it there too.
    const wasRunning = job.state === 'started' || job.state === 'reserved';
    await this.store.commit([{ type: 'cancel', id, at: Date.now() }]);
    if (job.state !== 'cancelled') return false;
    if (wasRunning) this.ctx.pool.abort(id, 'cancelled');
    this.waiters.settle(job);
    return true;
  }

  sendWorkflow(workflow: Workflow, options?: WorkflowSendOptions): Promise<WorkflowHandle> {
    this.ctx.assertOpen();
    return this.workflows.send(workflow, options);
  }

  async forget(id: string): Promise<boolean> {
    const job = this.store.jobs.get(id);
    if (!job || !FINISHED_STATES.has(job.state)) return false;
    await this.store.commit([{ type: 'forget', id, at: Date.now() }]);
    return !this.store.jobs.has(id);
  }

  result(id: string, timeoutMs?: number): Promise<unknown> {
    const jobs = this.store.jobs;
    // A job parked far back in the ready lists is pending: waiting for it needs no record.
    const job = jobs.peek(id);
    if (!job && !jobs.has(id))
      return Promise.reject(
        new CeleriacError('RESULT_GONE', `job ${id} is unknown: never sent here, or finished longer ago than resultTtl and dropped`),
      );
    if (this.failure && !(job && FINISHED_STATES.has(job.state))) return Promise.reject(this.failure);
    return this.waiters.wait(id, job, timeoutMs, () => jobs.read(id));
  }

  async readMark(key: string): Promise<string | undefined> {
    checkMarkKey(key, 'readMark()');
    return this.store.readMark(key);
  }

  async writeMark(key: string, value: string): Promise<void> {
    checkMarkKey(key, 'writeMark()');
    checkMarkValue(key, value, 'writeMark()');
    await this.store.writeMark(key, value);
  }

  private sweep(): void {
    const cutoff = Date.now() - this.ctx.resultTtlMs;
    for (const job of unparkedRecords(this.store.jobs)) {
      if (FINISHED_STATES.has(job.state) && (job.finishedAt ?? 0) <= cutoff) {
        this.store.compact().catch((err) => this.ctx.log.error(`compaction failed: ${(err as Error).message}`));
        return;
      }
    }
  }

  /** Waits for each part to settle (not polled), until sends, the dispatcher and workflow follow-ups are all done at once. */
  async idle(): Promise<void> {
    while (this.dispatcher.busy || this.writing.size > 0 || this.workflows.busy) {
      // A send's write failing is its sender's to hear: here it only means the send is over.
      await Promise.allSettled(this.writing);
      await this.workflows.written();
      await this.dispatcher.drained();
    }
  }

  // --- stopping -------------------------------------------------------------------

  /**
   * The data dir failed (the store refuses every write from now on): the app stops, and
   * whoever waits for a result is told at once.
   */
  private fail(err: CeleriacError): void {
    if (this.failure) return;
    this.failure = err;
    this.ctx.fail(err);
    this.waiters.rejectAll(err);
  }

  async close(deadline: () => number): Promise<void> {
    await this.inbox.stop();
    clearInterval(this.sweeper);
    await this.dispatcher.stop(deadline);
    await this.store.close();
    this.waiters.rejectAll();
  }
}
