// The BullMQ backend: jobs live in a BullMQ queue on Redis or PostgreSQL, shared by every
// host that opens the same broker and queue. BullMQ's Worker in this host takes jobs and
// hands each to celeriac's worker_threads pool (so hot reload, timeouts and context()
// are the file backend's); celeriac, not BullMQ, decides retries, expiry and cancel.
// One QueueEvents per app tells this host what happened on every host: results for
// result(), cancels for running jobs, events for app.on() listeners.
import { DEFAULT_QUEUE } from '../../queues.js';
import type { WorkflowHandle } from '../../workflows/engine.js';
import { randomUUID } from 'node:crypto';
import { DelayedError, type Job } from 'bullmq';
import { CeleriacError, type SerializedError } from '../../errors.js';
import type { CeleriacEvent } from '../../events.js';
import type { JobPage, ParsedListOptions } from '../../job-query.js';
import { JOB_STATES, type JobState, type NewJob } from '../../jobs.js';
import type { Outcome, WireJob } from '../../pool/protocol.js';
import type { JobInfo } from '../../send-types.js';
import { emptyRecoveryReport, type RecoveryReport } from '../../store/types.js';
import type { Backend, BackendContext } from '../types.js';
import type { BrokerUrl } from './broker-url.js';
import { brokerParts, type BrokerParts } from './connect.js';
import { fromBullId, toBullId } from './job-id.js';
import {
  endingText,
  jobInfoOf,
  maxRetriesOf,
  outcomeOfEnding,
  parseResult,
  readEnding,
  resultText,
  stateOf,
  toBullPriority,
  toData,
  type Ending,
  type JobData,
} from './job-data.js';
import { openMarks, type Marks } from './marks.js';
import { assertDurable, checkBroker } from './probe.js';
import { ResultWaiters } from './result-waiters.js';

export interface BullMQBackendOptions {
  broker: BrokerUrl;
  /** The BullMQ queue name; hosts that share it share the jobs. Default `celeriac`. */
  queue: string;
  /** Who opens it, for messages: `createCeleriac()`, `createClient()`… */
  where: string;
}

/** The QueueEvents custom event a cancel publishes: every host aborts the job if it runs it. */
const CANCEL_EVENT = 'celeriac-cancel';
/** How often a result() waiter looks at its job again, in case an event was lost with a connection. */
const RECHECK_MS = 5000;

/** Thrown from the processor: BullMQ records its message (the ending) as the failedReason. */
class Ended extends Error {
  constructor(ending: Ending) {
    super(endingText(ending));
  }
}

export async function openBullMQBackend(ctx: BackendContext, o: BullMQBackendOptions): Promise<BullMQBackend> {
  assertDurable(o.broker, o.where, await checkBroker(o.broker, o.where));
  const parts = brokerParts(o.broker, o.queue);
  try {
    await Promise.all([parts.queue.waitUntilReady(), parts.events.waitUntilReady(), parts.producer.waitUntilReady()]);
    const marks = await openMarks(o.broker, o.queue, parts.queue);
    const backend = new BullMQBackend(ctx, o, parts, marks);
    await backend.open();
    return backend;
  } catch (err) {
    await Promise.allSettled([parts.queue.close(), parts.events.close(), parts.producer.close()]);
    throw err instanceof CeleriacError
      ? err
      : new CeleriacError(
          'BROKER_UNREACHABLE',
          `${o.where}: the broker ${o.broker.masked} did not open the queue "${o.queue}": ${(err as Error).message}`,
          { cause: err },
        );
  }
}

export class BullMQBackend implements Backend {
  readonly kind;
  readonly location: string;
  readonly recovery: RecoveryReport = emptyRecoveryReport();
  private readonly waiters = new ResultWaiters();
  /** Jobs this host runs now, by celeriac id. */
  private readonly running = new Map<string, WireJob>();
  /** Jobs a cancel reached (from any host): never run, and a running one's failure is its cancel. */
  private readonly cancelled = new Set<string>();
  /** Jobs whose AbortSignal the shutdown fired: given back, not failed. */
  private readonly stoppedByShutdown = new Set<string>();
  private readonly accepting = new Set<Promise<unknown>>();
  private worker: ReturnType<BrokerParts['worker']> | undefined;
  private working: Promise<void> | undefined;
  private closed = false;
  /** Events are told one after another, in the order QueueEvents heard them. */
  private telling: Promise<void> = Promise.resolve();
  private readonly ttlSeconds: number;

  constructor(
    private readonly ctx: BackendContext,
    private readonly o: BullMQBackendOptions,
    private readonly parts: BrokerParts,
    private readonly marks: Marks,
  ) {
    this.kind = o.broker.kind;
    this.location = `${o.broker.masked} (queue ${o.queue})`;
    this.ttlSeconds = Math.max(1, Math.ceil(ctx.resultTtlMs / 1000));
  }

  async open(): Promise<void> {
    const ev = this.parts.events;
    ev.on('completed', ({ jobId, returnvalue }) => this.onCompleted(jobId, returnvalue));
    ev.on('failed', ({ jobId, failedReason }) => this.onFailed(jobId, failedReason));
    ev.on(CANCEL_EVENT as 'completed', (args: unknown) => this.onCancelled(String((args as { jobId: string }).jobId), true));
    ev.on('added', ({ jobId }) => this.tell('received', jobId));
    ev.on('active', ({ jobId }) => this.tell('started', jobId));
    ev.on('delayed', ({ jobId }) => this.tell('retrying', jobId));
    ev.on('error', (err) => this.ctx.log.warn(`broker ${this.o.broker.masked}: queue events: ${err.message}`));
    this.parts.queue.on('error', (err) => this.ctx.log.warn(`broker ${this.o.broker.masked}: ${err.message}`));
    void ev
      .run()
      .catch((err: unknown) => this.ctx.log.error(`broker ${this.o.broker.masked}: queue events stopped: ${(err as Error).message}`));
    const c = await this.parts.queue.getJobCounts('waiting', 'prioritized', 'delayed', 'active', 'completed', 'failed');
    this.recovery.found = {
      pending: (c.waiting ?? 0) + (c.prioritized ?? 0) + (c.delayed ?? 0) + (c.active ?? 0),
      retrying: 0,
      finished: (c.completed ?? 0) + (c.failed ?? 0),
    };
  }

  // --- sending --------------------------------------------------------------------

  async load(options?: { startEarly?: () => Promise<void> }): Promise<void> {
    // Nothing to read: the jobs are in the broker.
    await options?.startEarly?.();
  }

  /** Workflows keep their links in the file journal; on a broker they are not durable yet, so they are refused rather than half-kept. */
  async sendWorkflow(): Promise<WorkflowHandle> {
    throw new CeleriacError(
      'NOT_SUPPORTED',
      `sendWorkflow(): workflows run on the file backend only for now; with broker ${this.o.broker.masked}, chain the tasks by sending the next one from inside a task`,
    );
  }

  async accept(jobs: NewJob[], hint?: { fresh?: boolean[] }): Promise<boolean[]> {
    const routed = jobs.find((j) => j.queue !== undefined && j.queue !== DEFAULT_QUEUE);
    if (routed)
      throw new CeleriacError(
        'NOT_SUPPORTED',
        `send(${routed.task}): queue "${routed.queue}": per-job queues run on the file backend only for now; on a broker, give each group of workers its own createCeleriac({ broker, queue })`,
      );
    this.ctx.assertOpen();
    if (this.closed) throw new CeleriacError('APP_CLOSED', 'the app is closing or closed: it accepts no new jobs');
    const work = this.add(jobs, hint?.fresh);
    this.accepting.add(work);
    try {
      return await work;
    } finally {
      this.accepting.delete(work);
    }
  }

  private async add(jobs: NewJob[], fresh: boolean[] = []): Promise<boolean[]> {
    const batch = randomUUID();
    const now = Date.now();
    const keep = { age: this.ttlSeconds };
    const items = jobs.map((job, i) => ({
      name: job.task,
      data: toData(job, `${batch}.${i}`),
      opts: {
        jobId: toBullId(job.id),
        priority: toBullPriority(job.priority),
        delay: Math.max(0, job.runAt - now),
        removeOnComplete: keep,
        removeOnFail: keep,
      },
    }));
    try {
      await this.parts.queue.addBulk(items);
    } catch (err) {
      throw new CeleriacError(
        'BROKER_FAILED',
        `the broker ${this.o.broker.masked} refused ${jobs.length} job(s): ${(err as Error).message}. Whether they were written cannot be known: send again with the same ids (ids dedupe)`,
        { cause: err },
      );
    }
    // A known id creates nothing: the job under it keeps the nonce of the send that created it.
    // A random id drawn here cannot be known: no look-up for it.
    const found = await Promise.all(items.map((it, i) => (fresh[i] ? undefined : this.parts.queue.getJob(it.opts.jobId))));
    return found.map((job, i) => job === undefined || job.data.nonce === items[i]!.data.nonce);
  }

  // --- running --------------------------------------------------------------------

  async start(): Promise<void> {
    if (this.worker || this.closed) return;
    // A few jobs beyond the pool's slots wait in the host, so a slot never waits for the broker.
    const concurrency = this.ctx.capacity + Math.min(this.ctx.capacity, this.ctx.prefetch);
    this.worker = this.parts.worker((job, token) => this.process(job, token), concurrency, this.o.broker.stall);
    this.worker.on('error', (err) => this.ctx.log.warn(`broker ${this.o.broker.masked}: worker: ${err.message}`));
    // A job this host ran: its waiters here need not wait for the broker to tell it back.
    // The Worker says 'completed' once the broker has the result, so nothing is told early.
    this.worker.on('completed', (job, returnvalue) => this.settleLocally(job.id!, returnvalue));
    this.working = this.worker
      .run()
      .catch((err: unknown) => this.ctx.log.error(`broker ${this.o.broker.masked}: the worker stopped: ${(err as Error).message}`));
    await this.worker.waitUntilReady();
  }

  private async process(job: Job<JobData, string>, token: string | undefined): Promise<string> {
    const id = fromBullId(job.id!);
    const d = job.data;
    if (d.cancelledAt !== undefined || this.cancelled.has(id)) throw new Ended({ celeriac: 'cancelled', task: job.name });
    if (d.expiresAt && Date.now() >= d.expiresAt) throw new Ended({ celeriac: 'expired', task: job.name });
    if (!this.ctx.task(job.name)) {
      throw new Ended({
        celeriac: 'failed',
        task: job.name,
        error: {
          name: 'UnknownTask',
          message: `task "${job.name}" is not defined on the host that took job ${id}: every host sharing the queue needs the same task modules`,
        },
      });
    }
    const recovered = d.recovered === true || job.stalledCounter > (d.stalls ?? 0);
    const wire: WireJob = { seq: 0, id, task: job.name, args: d.args, attempt: job.attemptsStarted, retries: d.retries, recovered };
    const maxRetries = maxRetriesOf(d);
    if (maxRetries !== undefined) wire.maxRetries = maxRetries;
    if (d.retryDelay !== undefined) wire.retryDelayMs = d.retryDelay;
    if (d.slot !== undefined) wire.slot = d.slot;
    this.running.set(id, wire);
    let outcome: Outcome;
    try {
      outcome = await new Promise<Outcome>((resolve, reject) => {
        this.ctx.pool.run([wire], (_w, out) => resolve(out)).catch(reject);
      });
    } finally {
      this.running.delete(id);
    }
    const byShutdown = this.stoppedByShutdown.delete(id);
    if (this.cancelled.has(id) && outcome.kind !== 'succeeded') throw new Ended({ celeriac: 'cancelled', task: job.name });
    switch (outcome.kind) {
      case 'succeeded':
        return resultText(outcome.result);
      case 'failed':
        if (byShutdown) return this.giveBack(job, token, true);
        throw new Ended({ celeriac: 'failed', task: job.name, error: outcome.error });
      case 'retry':
        if (byShutdown) return this.giveBack(job, token, true);
        return this.retryLater(job, token, outcome.runAt, outcome.error, outcome.args);
      case 'requeue':
        return this.giveBack(job, token, !outcome.revert);
    }
  }

  /** celeriac's retry: new data (args, count, error), then BullMQ's delayed set until runAt. */
  private async retryLater(
    job: Job<JobData, string>,
    token: string | undefined,
    runAt: number,
    error: SerializedError,
    args: string | undefined,
  ): Promise<never> {
    const d = job.data;
    const next: JobData = {
      ...d,
      args: args ?? d.args,
      retries: d.retries + 1,
      runAt,
      error,
      stalls: job.stalledCounter,
      recovered: false,
    };
    await job.updateData(next);
    await job.moveToDelayed(Math.max(runAt, Date.now()), token);
    throw new DelayedError();
  }

  /** Put a job back to run again (on any host) now; `recovered`: it may have begun. */
  private async giveBack(job: Job<JobData, string>, token: string | undefined, recovered: boolean): Promise<never> {
    await job.updateData({ ...job.data, stalls: job.stalledCounter, recovered: recovered || job.data.recovered === true });
    await job.moveToDelayed(Date.now(), token);
    throw new DelayedError();
  }

  // --- what every host hears ------------------------------------------------------

  private onCompleted(bullId: string, returnvalue: unknown): void {
    const value = resultValue(returnvalue);
    this.waiters.resolve(fromBullId(bullId), value);
    if (this.ctx.wants('succeeded')) void this.tellWith('succeeded', bullId, (e) => (e.result = value));
  }

  private settleLocally(bullId: string, returnvalue: unknown): void {
    this.waiters.resolve(fromBullId(bullId), resultValue(returnvalue));
  }

  private onFailed(bullId: string, failedReason: string): void {
    const id = fromBullId(bullId);
    const ending = readEnding(failedReason);
    this.waiters.reject(id, outcomeOfEnding(id, ending.task ?? '?', ending));
    // A cancel was told when it was made (CANCEL_EVENT); its job ends later, wherever it is reached.
    if (ending.celeriac === 'cancelled') return;
    const type = ending.celeriac === 'failed' ? 'failed' : 'expired';
    if (this.ctx.wants(type)) void this.tellWith(type, bullId, (e) => ending.celeriac === 'failed' && (e.error = ending.error));
  }

  /** A cancel made on any host (`tell`: heard from QueueEvents, so listeners hear it once). */
  private onCancelled(bullId: string, tell: boolean): void {
    const id = fromBullId(bullId);
    if (!this.cancelled.has(id)) {
      this.cancelled.add(id);
      if (this.running.has(id)) this.ctx.pool.abort(id, 'cancelled');
      this.waiters.reject(id, new CeleriacError('JOB_CANCELLED', `job ${id} was cancelled`));
    }
    if (tell && this.ctx.wants('cancelled')) void this.tellWith('cancelled', bullId, () => {});
  }

  private tell(type: 'received' | 'started' | 'retrying', bullId: string): void {
    if (!this.ctx.wants(type)) return;
    void this.tellWith(
      type,
      bullId,
      (e, job) => {
        if (type === 'started') e.recovered = job.data.recovered === true || job.stalledCounter > (job.data.stalls ?? 0);
        if (type === 'received' && job.data.runAt > job.data.createdAt) e.runAt = new Date(job.data.runAt);
        if (type === 'retrying') {
          e.runAt = new Date(job.data.runAt);
          if (job.data.error) e.error = job.data.error;
        }
      },
      type === 'retrying' ? (job) => job.data.retries > 0 && job.attemptsStarted > 0 : undefined,
    );
  }

  /** Build the event from the job as the broker has it now (only when someone listens); told in the order heard. */
  private tellWith(
    type: CeleriacEvent['type'],
    bullId: string,
    fill: (e: CeleriacEvent, job: Job<JobData, string>) => unknown,
    only?: (job: Job<JobData, string>) => boolean,
  ): Promise<void> {
    const reading = this.parts.queue.getJob(bullId);
    reading.catch(() => {});
    this.telling = this.telling.then(() => this.tellOne(type, bullId, reading, fill, only));
    return this.telling;
  }

  private async tellOne(
    type: CeleriacEvent['type'],
    bullId: string,
    reading: Promise<Job<JobData, string> | undefined>,
    fill: (e: CeleriacEvent, job: Job<JobData, string>) => unknown,
    only?: (job: Job<JobData, string>) => boolean,
  ): Promise<void> {
    try {
      const job = await reading;
      if (!job || (only && !only(job))) return;
      const event: CeleriacEvent = { type, id: fromBullId(bullId), task: job.name, at: new Date(), attempt: job.attemptsStarted };
      fill(event, job);
      this.ctx.emit(event);
    } catch (err) {
      this.ctx.log.warn(`could not read job ${fromBullId(bullId)} for its "${type}" event: ${(err as Error).message}`);
    }
  }

  // --- reading and cancelling -----------------------------------------------------

  private async read(id: string): Promise<{ job: Job<JobData, string>; state: JobState } | undefined> {
    // The state first, then the job: a job read before it ended could be paired with the
    // ended state and lack its result or failure reason.
    const bullId = toBullId(id);
    const bullState = await this.parts.queue.getJobState(bullId);
    if (bullState === 'unknown') return undefined;
    const job = await this.parts.queue.getJob(bullId);
    if (!job) return undefined;
    return { job, state: stateOf(bullState, job) };
  }

  async get(id: string): Promise<JobInfo | undefined> {
    const found = await this.read(id);
    return found && jobInfoOf(found.job, found.state);
  }

  async cancel(id: string): Promise<boolean> {
    const found = await this.read(id);
    if (!found || ['succeeded', 'failed', 'cancelled', 'expired'].includes(found.state)) return false;
    const { job } = found;
    await job.updateData({ ...job.data, cancelledAt: Date.now() });
    this.onCancelled(job.id!, false);
    await this.parts.producer.publishEvent({ eventName: CANCEL_EVENT, jobId: job.id! });
    // A job waiting for its eta is ended now rather than then (a worker finishes it as cancelled).
    if (found.state === 'pending' || found.state === 'retrying') await job.promote().catch(() => {});
    return true;
  }

  async forget(id: string): Promise<boolean> {
    const found = await this.read(id);
    if (!found || !['succeeded', 'failed', 'cancelled', 'expired'].includes(found.state)) return false;
    await found.job.remove();
    return true;
  }

  result(id: string, timeoutMs?: number): Promise<unknown> {
    return this.waiters.wait(
      id,
      timeoutMs,
      () => new CeleriacError('RESULT_TIMEOUT', `job ${id}: no result within ${(timeoutMs ?? 0) / 1000} s (the job goes on)`),
      async (w) => {
        const found = await this.read(id);
        if (!found)
          return w.reject(
            new CeleriacError(
              'RESULT_GONE',
              `job ${id} is unknown: never sent to ${this.location}, or finished longer ago than resultTtl and dropped`,
            ),
          );
        const { job, state } = found;
        if (state === 'succeeded') w.resolve(parseResult(job.returnvalue));
        else if (state === 'cancelled') w.reject(outcomeOfEnding(id, job.name, { celeriac: 'cancelled' }));
        else if (state === 'failed' || state === 'expired') w.reject(outcomeOfEnding(id, job.name, readEnding(job.failedReason)));
      },
      RECHECK_MS,
    );
  }

  /** Jobs on record: BullMQ lists them by state; the page is cut here, newest first. */
  async list(q: ParsedListOptions): Promise<JobPage> {
    const infos = await this.all();
    const before = (a: JobInfo, b: { createdAt: number; id: string }) =>
      a.createdAt.getTime() !== b.createdAt ? a.createdAt.getTime() > b.createdAt : a.id > b.id;
    const matching = infos
      .filter(
        (j) =>
          (q.state === undefined || j.state === q.state) &&
          (q.task === undefined || j.task === q.task) &&
          (!q.after || before(j, q.after) === false),
      )
      .sort((a, b) => (before(a, { createdAt: b.createdAt.getTime(), id: b.id }) ? -1 : 1));
    const jobs = matching.slice(0, q.limit);
    const page: JobPage = { jobs };
    const last = jobs[jobs.length - 1];
    if (matching.length > q.limit && last) page.next = `${last.createdAt.getTime()}:${last.id}`;
    return page;
  }

  async counts(): Promise<Record<JobState, number>> {
    const counts = Object.fromEntries(JOB_STATES.map((s) => [s, 0])) as Record<JobState, number>;
    for (const j of await this.all()) counts[j.state]++;
    return counts;
  }

  private async all(): Promise<JobInfo[]> {
    const out: JobInfo[] = [];
    for (const bullState of ['waiting', 'prioritized', 'delayed', 'active', 'completed', 'failed'] as const) {
      const jobs = (await this.parts.queue.getJobs([bullState], 0, -1)) as Job<JobData, string>[];
      for (const job of jobs) if (job) out.push(jobInfoOf(job, stateOf(bullState, job)));
    }
    return out;
  }

  async idle(): Promise<void> {
    for (;;) {
      if (this.running.size === 0 && this.accepting.size === 0) {
        const c = this.worker
          ? await this.parts.queue.getJobCounts('waiting', 'prioritized', 'active')
          : { waiting: 0, prioritized: 0, active: 0 };
        if ((c.waiting ?? 0) + (c.prioritized ?? 0) + (c.active ?? 0) === 0 && this.running.size === 0) return;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async readMark(key: string): Promise<string | undefined> {
    return this.marks.read(key);
  }

  async writeMark(key: string, value: string): Promise<void> {
    await this.marks.write(key, value);
  }

  async close(deadline: () => number): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([...this.accepting]);
    if (this.worker) {
      const stopping = this.worker.close();
      // Past the deadline, running jobs are aborted and given back (flagged recovered) for another host.
      let aborted = false;
      const watch = setInterval(() => {
        if (aborted || Date.now() < deadline()) return;
        aborted = true;
        for (const id of this.running.keys()) {
          this.stoppedByShutdown.add(id);
          this.ctx.pool.abort(id, 'shutdown');
        }
      }, 50);
      try {
        // A broker that is gone cannot take the jobs back: stop waiting for it a little after the deadline.
        if (!(await settlesBy(Promise.all([stopping, this.working]), () => deadline() + BROKER_GRACE_MS))) {
          this.ctx.log.warn(
            `broker ${this.o.broker.masked} did not answer while closing: the jobs this host held run again on another host once their locks lapse`,
          );
          await settlesBy(this.worker.close(true), () => Date.now() + BROKER_GRACE_MS);
        }
      } finally {
        clearInterval(watch);
      }
    }
    await this.ctx.pool.close();
    this.waiters.rejectAll(
      new CeleriacError('APP_CLOSED', 'the app closed while waiting for this result; the job goes on (ask again after a restart)'),
    );
    const parts = [this.parts.events, this.parts.producer, this.parts.queue];
    if (!(await settlesBy(Promise.allSettled([...parts.map((p) => p.close()), this.marks.close()]), () => Date.now() + BROKER_GRACE_MS))) {
      await Promise.allSettled(parts.map((p) => p.disconnect()));
    }
  }
}

/** A finished job's value from its stored text (kept as is if it is not celeriac's). */
function resultValue(returnvalue: unknown): unknown {
  try {
    return parseResult(returnvalue);
  } catch {
    return returnvalue;
  }
}

/** How long close() waits for a broker beyond its deadline. */
const BROKER_GRACE_MS = 5000;

/** Whether `work` settled by the (movable) deadline. */
async function settlesBy(work: Promise<unknown>, deadline: () => number): Promise<boolean> {
  let settled = false;
  void work.then(
    () => (settled = true),
    () => (settled = true),
  );
  while (!settled && Date.now() < deadline()) await new Promise((r) => setTimeout(r, 50));
  return settled;
}
