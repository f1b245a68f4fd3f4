// From "due" to "done": the dispatcher takes due jobs from the ready lists and reserves
// them (in memory: nothing durable depends on a reservation), groups them into dispatch
// units (a few jobs bound for one worker message) that p-queue runs on the pool a couple
// per slot at a time, marks each unit started (durably) as it goes to the pool, and
// records outcomes in batches too. Data flows one way: ready → reserve → p-queue → start
// (durable) → pool → outcome (durable) → waiters, or back to ready/delayed for a retry.
// Only started jobs may have begun: after a crash they run again flagged recovered;
// reserved ones are pending on disk and simply wait again.
// Each job taken has one phase (in-flight.ts), which only this file moves; idle() and
// stop() wait for the phase table to empty rather than polling it.
// Nothing on this path costs a promise or a p-queue entry per job: at tens of thousands of
// jobs a second those were most of the host's time.
import PQueue from 'p-queue';
import pRetry from 'p-retry';
import { FINISHED_STATES, WAITING_STATES, type JobEvent, type JobRecord, type NewJob } from '../jobs.js';
import type { WorkerPool } from '../pool/pool.js';
import type { Outcome, WireJob } from '../pool/protocol.js';
import type { JobStore } from '../store/types.js';
import { DelayedJobs } from './delayed.js';
import { InFlightJobs, type Phase } from './in-flight.js';
import { ReadyJobs } from './ready.js';
import { TaskRateLimiter, type RateLimit } from './rate-limit.js';
import { QueueGate } from './queue-gate.js';
import { DEFAULT_QUEUE, type ServedQueues } from '../queues.js';

export interface DispatcherOptions {
  store: JobStore;
  pool: WorkerPool;
  log: { error(message: string): void };
  /** A job reached a final state: wake whoever waits for it. */
  onFinished: (job: JobRecord) => void;
  /** An outcome is durable (the job record holds it): for the per-job log lines. */
  onRecorded?: (job: JobRecord, ev: JobEvent, runMs: number | undefined) => void;
  /** The pool's slots: jobs it runs at once (worker threads × workerConcurrency). */
  capacity: number;
  /**
   * Jobs reserved ahead of time per slot. They wait in the host, not in a worker, so
   * whichever worker frees up first takes the next one. A reservation is not written to
   * the journal (it would cost a write per batch for nothing a restart needs: a reserved
   * job is pending on disk); a unit's start is written as p-queue hands it to the pool.
   * A crash flags as recovered only the started jobs (those a worker held); close()
   * gives all of them back exactly.
   */
  prefetch: number;
  timeoutGraceMs: number;
  /** The queues this app runs, each with its concurrency (undefined: no cap); absent: every queue. */
  queues?: ServedQueues;
  /** A task's rate limit (task option rateLimit), if it has one. */
  rateLimitOf?: (task: string) => RateLimit | undefined;
}

/**
 * Jobs in one dispatch unit at most: enough that a batch of short jobs travels in one
 * message each way. p-queue runs UNITS_PER_SLOT units per slot at once, so a worker
 * already holds its next jobs when it finishes the current ones, and still has some when
 * the host is slow to send more (a busy machine, a slow fsync of their start). A unit also holds no
 * more than about UNIT_BUDGET_MS of work, by the measured run time of its tasks: jobs of
 * a few ms go one or two at a time, so that neither worker ends a burst with a queue the
 * other could have taken. A job stuck behind a long one moves to an idle worker (the
 * pool steals it back).
 */
const UNIT_JOBS = 32;
const UNITS_PER_SLOT = 4;
const UNIT_BUDGET_MS = 2;
/** The run time assumed for a task not yet measured: a few of its jobs per unit. */
const UNMEASURED_TASK_MS = 0.5;
/** Weight of the newest run in a task's run-time average. */
const RUN_TIME_WEIGHT = 0.2;

export class Dispatcher {
  private readonly ready: ReadyJobs;
  private readonly delayed: DelayedJobs;
  /** Dispatch units waiting for their turn on the pool, best job first. */
  private readonly queue: PQueue;
  private readonly reserveAhead: number;
  private readonly unitJobs: number;
  /** Jobs taken whose outcome is not yet durable, by id, each in its phase: never dispatched twice. */
  private readonly inFlight = new InFlightJobs();
  /** Average run time per task (ms, moving average of what the workers report), updated in place: no number boxed per job. */
  private readonly runMs = new Map<string, { avg: number }>();
  /** Outcomes of this turn waiting for their write, in three parallel lists (no entry object per job). */
  private outcomes = new OutcomeBatch();
  /** Slots claimed by send()s whose add+start write is in progress. */
  private claims = 0;
  /** Callers of idle()/stop() waiting for a condition that settling jobs may make true. */
  private waiters: { done: () => boolean; resolve: () => void }[] = [];
  private wakeScheduled = false;
  private running = false;
  private stopping = false;
  private pumpScheduled = false;
  /** Rate-limited tasks' limiters, by task name (made when the first job of the task is taken). */
  private readonly limiters = new Map<string, TaskRateLimiter>();
  /** Queues with a concurrency of their own, by name. */
  private readonly queueGates = new Map<string, QueueGate>();

  constructor(private readonly o: DispatcherOptions) {
    this.ready = new ReadyJobs(o.store.parking);
    this.delayed = new DelayedJobs((job) => this.makeReady(job));
    this.unitJobs = Math.min(o.prefetch, UNIT_JOBS);
    this.queue = new PQueue({ concurrency: o.capacity * UNITS_PER_SLOT, autoStart: false });
    this.reserveAhead = o.capacity * o.prefetch;
  }

  /** A waiting job: run it once due. */
  schedule(job: JobRecord): void {
    if (!this.serves(job)) return; // stays pending, durable, for an app that runs its queue
    if (job.runAt > Date.now()) this.delayed.add(job);
    else this.makeReady(job);
  }

  /**
   * Claim a free slot for a job that send() will write together with its start (one disk
   * write instead of two). A claim is one unit's place on the pool that is free now, so a
   * burst of concurrent sends (all claiming in one turn) cannot mark more jobs started
   * than the pool can hold; the rest go the usual way, reserved first. Claims also count
   * against prefetch like any reservation. Every true ends in runStarted() or releaseClaim().
   */
  claimNow(job?: NewJob): boolean {
    // A job of a queue this app does not run, or one a limit may hold back, goes the usual way.
    if (job && (!this.serves(job) || this.o.rateLimitOf?.(job.task) || this.o.queues?.get(job.queue ?? DEFAULT_QUEUE) !== undefined))
      return false;
    if (!this.running || this.stopping || this.ready.size > 0 || this.inFlight.count('reserving') > 0 || this.queue.size > 0) return false;
    if (this.queue.pending + this.claims >= this.queue.concurrency) return false;
    const inUse = this.inFlight.held + this.claims;
    if (inUse >= this.o.capacity * this.unitJobs || inUse >= this.reserveAhead) return false;
    this.claims++;
    return true;
  }

  /** Whether a job with this id is in the dispatcher's hands (taken, running, or its outcome being written). */
  holds(id: string): boolean {
    return this.inFlight.has(id);
  }

  releaseClaim(): void {
    this.claims--;
    this.pump();
    this.wakeWaiters();
  }

  /** A job send() accepted and marked started in the same write (after claimNow()). */
  runStarted(job: JobRecord): void {
    this.claims--;
    this.inFlight.add(job, 'queued');
    if (this.stopping) void this.giveBack([job]);
    else this.enqueueUnit([job]);
  }

  start(): void {
    this.running = true;
    this.queue.start();
    this.delayed.start();
    this.pump();
  }

  /**
   * Something is due, held back by a limit, being sent with its start, or in flight (from
   * its reservation to its durable outcome). Jobs waiting for a later time do not count.
   */
  get busy(): boolean {
    return this.ready.size > 0 || this.throttled > 0 || this.claims > 0 || this.inFlight.size > 0;
  }

  /**
   * Resolves once the dispatcher is not busy: the last job's outcome is durable and its
   * onRecorded/onFinished have run. Not polled: settling jobs wake it.
   */
  async drained(): Promise<void> {
    // A job that settles may be scheduled again (a retry) in the same turn: check once more.
    while (this.busy) await this.until(() => !this.busy);
  }

  /** Resolves once done() holds, checked after each turn in which a job settled, a claim ended or the ready lists were pumped. */
  private until(done: () => boolean): Promise<void> {
    if (done()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ done, resolve }));
  }

  /** Check the waiters once the current turn's settling is over (one check per turn, however many jobs settled in it). */
  private wakeWaiters(): void {
    if (this.waiters.length === 0 || this.wakeScheduled) return;
    this.wakeScheduled = true;
    queueMicrotask(() => {
      this.wakeScheduled = false;
      const waiters = this.waiters;
      this.waiters = [];
      for (const w of waiters) {
        if (w.done()) w.resolve();
        else this.waiters.push(w);
      }
    });
  }

  private makeReady(job: JobRecord): void {
    if (!WAITING_STATES.has(job.state)) return;
    this.ready.add(job);
    this.schedulePump();
  }

  /** One pump per turn, however many jobs became ready or came back in it. */
  private schedulePump(): void {
    if (!this.pumpScheduled) {
      this.pumpScheduled = true;
      queueMicrotask(() => {
        this.pumpScheduled = false;
        this.pump();
      });
    }
  }

  /** Take due jobs from the ready lists, up to the reservation depth, and mark them started together. */
  private pump(): void {
    if (!this.running || this.stopping) return;
    // Everything taken and not yet finished counts: being reserved, reserved, queued, on the pool.
    const room = this.reserveAhead - this.inFlight.held - this.claims;
    if (room <= 0) return;
    const batch: JobRecord[] = [];
    const now = Date.now();
    // Jobs a limit held back go first, in their order, as far as their limits allow.
    for (const gate of this.gates()) {
      for (let job = gate.held.peek(); job && batch.length < room; job = gate.held.peek()) {
        const stale = !WAITING_STATES.has(job.state) || this.inFlight.has(job.id);
        if (!stale && !this.admit(job, now)) break;
        gate.held.shift();
        if (stale) continue;
        this.inFlight.add(job, 'reserving');
        batch.push(job);
      }
    }
    while (batch.length < room) {
      const job = this.ready.take();
      if (!job) break;
      if (!WAITING_STATES.has(job.state) || this.inFlight.has(job.id)) continue; // stale entry (cancelled, or taken another way)
      if (!this.admit(job, now)) continue;
      this.inFlight.add(job, 'reserving');
      batch.push(job);
    }
    if (batch.length > 0) void this.reserve(batch);
    else this.wakeWaiters(); // the ready lists or a held list may have held only stale entries
  }

  /**
   * Whether the job's queue and rate limit let it start now; if so it takes its places in
   * both. If not, it is held back by the first that refused (after any job already held
   * there: a queue's or a task's jobs keep their order).
   */
  private admit(job: JobRecord, now: number): boolean {
    const queue = this.gateOf(job.queue ?? DEFAULT_QUEUE);
    const limiter = this.limiterOf(job.task);
    if (!queue && !limiter) return true;
    const fresh = !this.heldNow.has(job);
    if (queue && ((fresh && queue.held.size > 0) || !queue.canTake())) return this.hold(queue, job, fresh);
    if (limiter && ((fresh && limiter.held.size > 0) || !limiter.canTake(now))) return this.hold(limiter, job, fresh);
    this.heldNow.delete(job);
    queue?.take(job.id);
    limiter?.take(job.id, now);
    return true;
  }

  /** Jobs held back: whether a job is in some held list already (then it keeps its place there). */
  private readonly heldNow = new WeakSet<JobRecord>();

  private hold(gate: QueueGate | TaskRateLimiter, job: JobRecord, fresh: boolean): false {
    if (fresh) {
      this.heldNow.add(job);
      gate.held.push(job);
    }
    return false;
  }

  private *gates(): Iterable<QueueGate | TaskRateLimiter> {
    yield* this.queueGates.values();
    yield* this.limiters.values();
  }

  /** The gate of a queue with a concurrency of its own; undefined for one without. */
  private gateOf(queue: string): QueueGate | undefined {
    const concurrency = this.o.queues?.get(queue);
    if (concurrency === undefined) return undefined;
    let gate = this.queueGates.get(queue);
    if (!gate) this.queueGates.set(queue, (gate = new QueueGate(queue, concurrency, () => this.schedulePump())));
    return gate;
  }

  /** Whether this app runs the job's queue (every queue without the `queues` option). */
  private serves(job: JobRecord | NewJob): boolean {
    return !this.o.queues || this.o.queues.has(job.queue ?? DEFAULT_QUEUE);
  }

  /** The limiter of a rate-limited task; undefined for a task without a limit. */
  private limiterOf(task: string): TaskRateLimiter | undefined {
    const limit = this.o.rateLimitOf?.(task);
    let limiter = this.limiters.get(task);
    if (!limit) return limiter?.held.size ? limiter : undefined; // limit removed by a reload: let the held ones out first
    if (!limiter || limiter.limit.count !== limit.count || limiter.limit.windowMs !== limit.windowMs) {
      if (limiter?.held.size) return limiter; // changed by a reload: the new limit applies once the held ones are out
      limiter = new TaskRateLimiter(limit, () => this.schedulePump());
      this.limiters.set(task, limiter);
    }
    return limiter;
  }

  /** Jobs a limit holds back. */
  private get throttled(): number {
    let n = 0;
    for (const gate of this.gates()) n += gate.held.size;
    return n;
  }

  /** A job leaves the dispatcher's hands: its queue place frees, its rate-limit place (if any) a window after it began, or now. */
  private settled(job: JobRecord, begunAt?: number): void {
    this.inFlight.remove(job);
    this.releasePlaces(job, begunAt);
    this.wakeWaiters();
  }

  /** Give back the job's places in its queue and rate limit (a second call does nothing). */
  private releasePlaces(job: JobRecord, begunAt?: number): void {
    if (this.queueGates.size > 0) this.queueGates.get(job.queue ?? DEFAULT_QUEUE)?.release(job.id);
    if (this.limiters.size > 0) this.limiters.get(job.task)?.release(job.id, begunAt);
  }

  private moveAll(jobs: JobRecord[], phase: Phase): void {
    for (const job of jobs) this.inFlight.move(job, phase);
  }

  /** Jobs just taken (phase reserving): expire the overdue ones, reserve the rest, queue them in units. */
  private async reserve(batch: JobRecord[]): Promise<void> {
    const now = Date.now();
    const expired: JobEvent[] = batch
      .filter((job) => job.expiresAt && now >= job.expiresAt)
      .map((job) => ({ type: 'expire', id: job.id, at: now }));
    try {
      if (expired.length > 0) await this.o.store.commit(expired);
      // In memory only: on disk the job stays pending until its start is written.
      for (const job of batch) if (WAITING_STATES.has(job.state)) job.state = 'reserved';
    } catch (err) {
      // Rare (disk full): the jobs stay pending; try them again shortly.
      this.o.log.error(
        `could not record the expiry of ${expired.length} job(s); ${batch.length} job(s) stay pending and are tried again in 1 s: ${(err as Error).message}`,
      );
      for (const job of batch) this.settled(job);
      setTimeout(() => batch.forEach((job) => this.makeReady(job)), 1000).unref();
      return;
    }
    const reserved: JobRecord[] = [];
    for (const job of batch) {
      if (job.state !== 'reserved') {
        // Expired, or cancelled while its reservation was being written.
        this.settled(job);
        if (FINISHED_STATES.has(job.state)) this.o.onFinished(job);
      } else reserved.push(job);
    }
    if (this.stopping) await this.giveBack(reserved);
    else this.enqueueUnits(reserved);
    this.pump();
  }

  /** Cut reserved jobs (in the ready lists' order) into units of at most unitJobs jobs and about UNIT_BUDGET_MS of work. */
  private enqueueUnits(jobs: JobRecord[]): void {
    let unit: JobRecord[] = [];
    let cost = 0;
    for (const job of jobs) {
      const ms = this.runMs.get(job.task)?.avg ?? UNMEASURED_TASK_MS;
      if (unit.length > 0 && (unit.length >= this.unitJobs || cost + ms > UNIT_BUDGET_MS)) {
        this.enqueueUnit(unit);
        unit = [];
        cost = 0;
      }
      unit.push(job);
      cost += ms;
    }
    if (unit.length > 0) this.enqueueUnit(unit);
  }

  /** Queue reserved (or, from send(), started) jobs as one unit; it runs as one message to one worker. */
  private enqueueUnit(unit: JobRecord[]): void {
    this.moveAll(unit, 'queued');
    void this.queue
      .add(
        async () => {
          this.moveAll(unit, 'starting');
          await this.run(unit);
        },
        { priority: unit[0]!.priority },
      )
      .catch((err: unknown) => this.o.log.error(`dispatch of ${unit.length} job(s) failed: ${(err as Error).message}`));
  }

  /** Mark the unit's reserved jobs started (durably: from now on they may begin), then hand it to the pool. */
  private async run(unit: JobRecord[]): Promise<void> {
    const live: JobRecord[] = [];
    for (const job of unit) {
      if (job.state === 'reserved' || job.state === 'started') live.push(job);
      else this.drop(job); // cancelled while it waited for a slot
    }
    let handed = live;
    const toStart = live.filter((job) => job.state === 'reserved');
    if (toStart.length > 0) {
      const at = Date.now();
      // A reservation can outlive the job's expiry (its worker was busy): such a job is expired here, never started.
      const startOrExpire = (job: JobRecord): JobEvent =>
        job.expiresAt && at >= job.expiresAt ? { type: 'expire', id: job.id, at } : { type: 'start', id: job.id, at };
      try {
        await this.o.store.commit(toStart.map(startOrExpire), toStart);
      } catch (err) {
        // Rare (disk full): give them back (pending on disk already after a restart) and try them again shortly.
        this.o.log.error(`could not record the start of ${toStart.length} job(s); they are tried again in 1 s: ${(err as Error).message}`);
        void this.giveBack(toStart).then(() => void setTimeout(() => toStart.forEach((job) => this.makeReady(job)), 1000).unref());
        handed = live.filter((job) => !toStart.includes(job));
      }
    }
    if (this.stopping) {
      // close() began while the start was being written: these never reach a worker.
      for (const job of handed) {
        if (job.state === 'started') continue;
        this.drop(job);
        if (FINISHED_STATES.has(job.state)) this.o.onFinished(job);
      }
      await this.giveBack(handed.filter((job) => job.state === 'started'));
      return;
    }
    const wires: WireJob[] = [];
    for (const job of handed) {
      if (job.state !== 'started') {
        this.drop(job); // expired, or cancelled while its start was being written
        if (FINISHED_STATES.has(job.state)) this.o.onFinished(job);
        continue;
      }
      const wire: WireJob = {
        seq: 0,
        id: job.id,
        task: job.task,
        args: job.args as string, // a job that can start is not finished: its args are in memory
        attempt: job.attempts,
        retries: job.retries,
        recovered: job.recovered,
      };
      if (job.maxRetries !== undefined) wire.maxRetries = job.maxRetries;
      if (job.retryDelay !== undefined) wire.retryDelayMs = job.retryDelay;
      if (job.slot !== undefined) wire.slot = job.slot;
      wires.push(wire);
      this.inFlight.move(job, 'running');
    }
    return this.o.pool.run(wires, this.onOutcome, this.onProgress);
  }

  /** A job taken for dispatch that will not run (cancelled meanwhile): free its room. */
  private drop(job: JobRecord): void {
    this.settled(job);
    this.schedulePump();
  }

  /** A running job's latest progress (JSON text, checked in its worker): kept, not synced on its own. */
  private readonly onProgress = (wire: WireJob, value: string): void => {
    const job = this.inFlight.get(wire.id)?.job;
    if (job?.state !== 'started') return;
    const ev: JobEvent = { type: 'progress', id: job.id, at: Date.now(), value };
    if (this.o.store.note) this.o.store.note([ev]);
    else
      this.o.store
        .commit([ev])
        .catch((err: unknown) => this.o.log.error(`could not record the progress of job ${job.id}: ${(err as Error).message}`));
  };

  /** The pool's report of one job (its seq aside, the wire job is the one run() built). */
  private readonly onOutcome = (wire: WireJob, outcome: Outcome): void => {
    const job = this.inFlight.get(wire.id)?.job;
    if (job) this.inFlight.move(job, 'recording');
    // A job that lost its worker, or was stopped by the host, began at an unknown time: count it from now.
    if (job && (this.limiters.size > 0 || this.queueGates.size > 0))
      this.releasePlaces(job, outcome.begunAt ?? (outcome.kind === 'requeue' && outcome.revert ? undefined : Date.now()));
    if (outcome.runMs !== undefined) {
      const known = this.runMs.get(wire.task);
      if (known) known.avg += RUN_TIME_WEIGHT * (outcome.runMs - known.avg);
      else this.runMs.set(wire.task, { avg: outcome.runMs });
    }
    if (job) this.record(job, outcome);
    this.schedulePump();
  };

  /** Queue an outcome; all outcomes of one event-loop turn become durable in one write. */
  private record(job: JobRecord, given: Outcome): void {
    const batch = this.outcomes;
    // One time for the whole turn's outcomes: they are written together.
    if (batch.jobs.length === 0) {
      batch.at = Date.now();
      queueMicrotask(() => this.flushOutcomes());
    }
    const at = batch.at;
    // A failure of a job the shutdown aborted is the shutdown's doing; a requeue says itself whether the job began.
    const byShutdown = (given.kind === 'failed' || given.kind === 'retry') && this.inFlight.get(job.id)?.stoppedByShutdown === true;
    const outcome: Outcome = byShutdown ? { seq: given.seq, kind: 'requeue', revert: false } : given;
    let ev: JobEvent;
    switch (outcome.kind) {
      case 'succeeded':
        ev =
          outcome.result === undefined ? { type: 'succeed', id: job.id, at } : { type: 'succeed', id: job.id, at, result: outcome.result };
        break;
      case 'failed':
        ev = { type: 'fail', id: job.id, at, error: outcome.error };
        break;
      case 'retry':
        ev =
          outcome.args === undefined
            ? { type: 'retry', id: job.id, at, runAt: outcome.runAt, error: outcome.error }
            : { type: 'retry', id: job.id, at, runAt: outcome.runAt, error: outcome.error, args: outcome.args };
        break;
      case 'requeue':
        ev = { type: 'requeue', id: job.id, at, revert: outcome.revert };
        break;
    }
    batch.jobs.push(job);
    batch.events.push(ev);
    batch.runMs.push(given.runMs);
  }

  private flushOutcomes(): void {
    const batch = this.outcomes;
    this.outcomes = new OutcomeBatch();
    void this.writeOutcomes(batch);
  }

  private async writeOutcomes(batch: OutcomeBatch): Promise<void> {
    const { jobs, events } = batch;
    try {
      // A failed write (disk full) loses nothing: retried here, else the jobs stay started and run again after a restart.
      // The first try goes straight to the store: p-retry costs ~5% of the host's CPU per job when on the hot path.
      // A failed store (STORE_FAILED) refuses every write from now on: no retry.
      const worthRetry = (err: unknown) => (err as { code?: unknown })?.code !== 'STORE_FAILED';
      await this.o.store.commit(events, jobs).catch((err: unknown) =>
        worthRetry(err)
          ? pRetry(() => this.o.store.commit(events, jobs), {
              retries: 8,
              minTimeout: 100,
              maxTimeout: 5000,
              shouldRetry: ({ error }) => worthRetry(error),
            })
          : Promise.reject(err),
      );
    } catch (err) {
      this.o.log.error(`could not record the outcome of ${jobs.length} job(s); they run again after a restart: ${(err as Error).message}`);
      for (const job of jobs) this.settled(job);
      return;
    }
    for (let i = 0; i < jobs.length; i++) {
      const job = jobs[i]!;
      this.settled(job);
      this.o.onRecorded?.(job, events[i]!, batch.runMs[i]);
      if (FINISHED_STATES.has(job.state)) this.o.onFinished(job);
      else if (WAITING_STATES.has(job.state)) this.schedule(job);
    }
    this.pump();
  }

  /** Jobs reserved or started that never reached a worker: back to pending, attempt uncounted. */
  private async giveBack(jobs: JobRecord[]): Promise<void> {
    if (jobs.length === 0) return;
    this.moveAll(jobs, 'returning');
    const started = jobs.filter((job) => job.state === 'started');
    for (const job of jobs) if (job.state === 'reserved') job.state = this.inFlight.get(job.id)?.waitingState ?? 'pending'; // as on disk already
    const at = Date.now();
    if (started.length > 0) {
      await this.o.store.commit(started.map((job) => ({ type: 'requeue', id: job.id, at, revert: true }))).catch((err: unknown) => {
        this.o.log.error(
          `could not give back ${started.length} job(s) at close; they run again after the restart, flagged recovered: ${(err as Error).message}`,
        );
      });
    }
    for (const job of jobs) this.settled(job);
  }

  /**
   * Stop: take no more work, give back what has not begun, let running jobs finish until
   * `deadline()` (which a second close() may bring forward), then abort and stop the pool.
   */
  async stop(deadline: () => number): Promise<void> {
    this.stopping = true;
    this.delayed.stop();
    for (const limiter of this.limiters.values()) limiter.stop();
    if (!this.running) return;
    this.queue.pause();
    this.queue.clear();
    await this.giveBack(this.inFlight.inPhase('queued'));
    // Jobs a worker holds but has not begun come back as requeue (revert) outcomes; a
    // worker blocked by its task cannot answer, and is terminated below.
    await this.o.pool.drain(deadline);
    if (!(await this.o.pool.idle(deadline))) {
      for (const id of this.inFlight.ids()) {
        this.inFlight.get(id)!.stoppedByShutdown = true;
        this.o.pool.abort(id, 'shutdown');
      }
      const abortedAt = Date.now();
      await this.o.pool.idle(() => abortedAt + this.o.timeoutGraceMs);
    }
    await this.o.pool.close();
    await this.queue.onIdle();
    // Reservations, sends with their start, outcomes and give-backs still being written: the store closes after them.
    await this.until(() => this.inFlight.size === 0 && this.claims === 0);
    this.running = false;
  }
}

/** One turn's outcomes: the i-th job, its event and the run time its worker measured. */
class OutcomeBatch {
  readonly jobs: JobRecord[] = [];
  readonly events: JobEvent[] = [];
  readonly runMs: (number | undefined)[] = [];
  /** When the turn's outcomes came back (each event's `at`). */
  at = 0;
}
