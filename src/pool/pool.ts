// The worker_threads pool: the host's side of its worker threads. Jobs go to the least
// busy worker (route-jobs.ts); each worker shares a slot table with the host (which job
// runs in which of its slots, and its hard deadline), so one watchdog timer enforces
// timeouts (terminate-overdue.ts) and, when a worker dies, the host knows which job was
// running in it (worker-death.ts). Hot reload swaps whole generations (generation.ts).
import type { ResourceLimits } from 'node:worker_threads';
import type { PluginRef } from '../registry/types.js';
import { unpackOutcomes } from './columns.js';
import { drainWorkers } from './drain-workers.js';
import { awaitGeneration, type ReloadResult, retire, stopIfRetired, usableSpares } from './generation.js';
import {
  type Batch,
  type PoolWorker,
  requeued,
  resolvePending,
  startPoolWorker,
  type WorkerReady,
  type WorkerState,
} from './pool-worker.js';
import type { HostMessage, Outcome, WireJob, WorkerMessage } from './protocol.js';
import { assign, leastBusy, reassign, stealForIdle } from './route-jobs.js';
import { needsTsx } from './spawn.js';
import { terminateOverdue } from './terminate-overdue.js';
import { deathReason, settleLostJobs } from './worker-death.js';

export interface PoolOptions {
  modules: string[];
  plugins: PluginRef[];
  /** Worker threads. */
  size: number;
  /** Slots per worker: jobs running at once inside one worker. */
  concurrency: number;
  timeoutGraceMs: number;
  maxResultBytes: number;
  resourceLimits?: ResourceLimits;
  /**
   * How many times a job may lose its worker thread under it (exit, crash, out of memory)
   * before it fails for good: below that it runs again, flagged recovered.
   */
  maxWorkerLosses: number;
  /** Told when a worker is lost (replaced or not), or a replacement's modules have problems. */
  onEvent?: (message: string) => void;
  /**
   * Keep a spare generation started ahead of time (thread up, tsx registered, celeriac
   * imported), so that reload() only has to import the task modules. For hot reload.
   */
  spares?: boolean;
}

const WATCHDOG_MS = 50;
const SPARES_DELAY_MS = 300;
/** How long the worker that discovered the tasks waits, idle, for start() to adopt it once the app is open. */
const ADOPT_WITHIN_MS = 2_000;

export class WorkerPool {
  private readonly workers: PoolWorker[] = [];
  private nextSeq = 1;
  private watchdog: NodeJS.Timeout | undefined;
  private closing = false;
  /** The current generation's modules: what replacements of lost workers load. */
  private modules: string[];
  private plugins: PluginRef[];
  private reloading: Promise<ReloadResult> | undefined;
  /**
   * Worker threads each job has lost so far (by job id), for maxWorkerLosses; dropped at
   * its next outcome, or when a job of that id comes to run not flagged recovered.
   */
  private readonly losses = new Map<string, number>();
  /** Hot reload generation: 0 for the code loaded at start, +1 per reload that took over. */
  generation = 0;
  /** idle() calls waiting for the jobs in flight to settle. */
  private readonly idleWaiters = new Set<() => void>();
  /** The worker discover() started, until start() adopts it or it is stopped unused. */
  private discoverer: { worker: PoolWorker; timer?: NodeJS.Timeout } | undefined;
  /**
   * Replacements still loading, by how many threads in a row died loading before them in
   * their place: at maxWorkerLosses the place is left empty rather than restarted forever.
   */
  private readonly loadLosses = new Map<PoolWorker, number>();
  /** Workers that died loading before start() resolved: replaced once it has (had they all died, it would have failed). */
  private readonly lostBeforeStart: (() => void)[] = [];

  constructor(private readonly opts: PoolOptions) {
    this.modules = opts.modules;
    this.plugins = opts.plugins;
  }

  /**
   * Start one worker that imports the modules and reports what they define, before
   * start(): start() adopts it as its first worker, so that the modules are not imported
   * in a throwaway thread. Until then it takes no jobs and does not keep the process alive;
   * not adopted within ADOPT_WITHIN_MS of the app being open (an app that only sends), it stops.
   */
  discover(): Promise<WorkerReady> {
    const worker = this.spawn('standby');
    const discoverer: { worker: PoolWorker; timer?: NodeJS.Timeout } = { worker };
    this.discoverer = discoverer;
    worker.ready.then(
      () => {
        // Held (ref) while it loads: createCeleriac() awaits it.
        if (this.discoverer === discoverer) worker.thread.unref();
      },
      () => undefined,
    );
    return worker.ready;
  }

  /**
   * The app is open: from now the worker discover() started waits ADOPT_WITHIN_MS for
   * start(). Counted from here, not from its report, so that a long read of the data dir
   * does not use up the wait.
   */
  openAdoptionWindow(): void {
    const discoverer = this.discoverer;
    if (!discoverer || discoverer.timer) return;
    discoverer.timer = setTimeout(() => this.dropDiscoverer(), ADOPT_WITHIN_MS);
    discoverer.timer.unref();
  }

  private dropDiscoverer(): void {
    const worker = this.discoverer?.worker;
    clearTimeout(this.discoverer?.timer);
    this.discoverer = undefined;
    if (!worker) return;
    worker.state = 'retired';
    if (!worker.exited) void worker.thread.terminate();
  }

  /** The worker discover() started, as an active one, if it is still there. */
  private adoptDiscoverer(): PoolWorker[] {
    const worker = this.discoverer?.worker;
    clearTimeout(this.discoverer?.timer);
    this.discoverer = undefined;
    if (!worker || worker.exited || worker.state !== 'standby') return [];
    worker.state = 'active';
    worker.thread.ref();
    return [worker];
  }

  /**
   * Start every worker (adopting discover()'s); resolves once one of them has imported
   * its modules, with what it found. Jobs go to the workers that are ready (route-jobs.ts),
   * so the first job need not wait for the last thread to load; a worker that dies while
   * loading after that is replaced like any lost worker. Rejects only if every worker fails.
   */
  async start(): Promise<WorkerReady> {
    const workers = [...this.adoptDiscoverer()];
    while (workers.length < this.opts.size) workers.push(this.spawn('active'));
    const first = await firstReady(workers.map((w) => w.ready));
    this.watchdog = setInterval(() => {
      const now = Date.now();
      stealForIdle(this.workers, this.opts.concurrency, now);
      terminateOverdue(this.workers, now);
      this.wakeIdle();
    }, WATCHDOG_MS);
    this.watchdog.unref();
    for (const replace of this.lostBeforeStart.splice(0)) replace();
    // Spares start once the pool's own threads have loaded: they would take the CPU those need.
    void Promise.allSettled(workers.map((w) => w.ready)).then(() => this.warmSpares());
    return first;
  }

  /** start() has completed: a worker has imported its modules (the others may still be loading). */
  get started(): boolean {
    return this.watchdog !== undefined;
  }

  /** Slots in the pool: jobs that can run at once (workers × slots per worker). */
  get capacity(): number {
    return this.opts.size * this.opts.concurrency;
  }

  get inFlight(): number {
    let n = 0;
    for (const w of this.workers) n += w.inFlight.size;
    return n;
  }

  /** Each live thread, for the dashboard: its state (`loading`: active, still importing its modules), jobs in flight, event-loop utilization. */
  threads(): { threadId: number; state: string; inFlight: number; utilization: number }[] {
    return this.workers
      .filter((w) => !w.exited)
      .map((w) => ({
        threadId: w.thread.threadId,
        state: w.state === 'active' && !w.loaded ? 'loading' : w.state,
        inFlight: w.inFlight.size,
        utilization: w.thread.performance.eventLoopUtilization().utilization,
      }));
  }

  /**
   * A new generation of workers loading `modules` and `plugins`. Once all of them are
   * ready without problems (a module without tasks is only a warning), they take every
   * new job and the old workers retire: jobs they hold but have not begun come back as
   * `requeue` outcomes (to run on the new code), running ones finish on the old code.
   * Otherwise the new workers are terminated and the old generation goes on serving.
   * Calls made while a reload is in progress run after it.
   */
  reload(modules: string[], plugins: PluginRef[]): Promise<ReloadResult> {
    const previous = this.reloading?.catch(() => undefined) ?? Promise.resolve(undefined);
    const next = previous.then(() => this.swapGeneration(modules, plugins));
    this.reloading = next;
    void next.finally(() => {
      if (this.reloading === next) this.reloading = undefined;
    });
    return next;
  }

  private async swapGeneration(modules: string[], plugins: PluginRef[]): Promise<ReloadResult> {
    if (this.closing) return { ok: false, problems: [], error: 'the pool is closing' };
    const spared = usableSpares(this.workers, this.opts.size, needsTsx(modules, plugins));
    for (const w of spared) {
      w.state = 'standby';
      w.thread.postMessage({ t: 'load', modules, plugins } satisfies HostMessage);
    }
    const spawned = [...spared, ...Array.from({ length: this.opts.size - spared.length }, () => this.spawn('standby', modules, plugins))];
    try {
      return await awaitGeneration(
        spawned,
        () => this.closing,
        () => {
          for (const w of [...this.workers]) if (w.state === 'active') retire(w, (outcomes) => this.settle(w, outcomes));
          for (const w of spawned) w.state = 'active';
          this.modules = modules;
          this.plugins = plugins;
          this.generation++;
        },
      );
    } finally {
      // Next time's spares start a little after this generation took over (or was
      // discarded): starting threads and tsx takes the CPU the first jobs on the new code need.
      const warm = setTimeout(() => this.warmSpares(), SPARES_DELAY_MS);
      warm.unref();
    }
  }

  private warmSpares(): void {
    if (!this.opts.spares || this.closing) return;
    const have = this.workers.filter((w) => w.state === 'spare').length;
    for (let i = have; i < this.opts.size; i++) this.spawn('spare');
  }

  private spawn(state: WorkerState, modules = this.modules, plugins = this.plugins): PoolWorker {
    const worker = startPoolWorker(state, modules, plugins, this.opts);
    this.workers.push(worker);
    worker.thread.on('message', (msg: WorkerMessage) => {
      if (msg.t === 'ready') {
        worker.loaded = true;
        this.loadLosses.delete(worker);
        worker.markReady({ tasks: msg.tasks, schedules: msg.schedules, problems: msg.problems, modules: msg.modules });
      } else if (msg.t === 'done') this.settle(worker, unpackOutcomes(msg.outcomes));
      else if (msg.t === 'progress') this.progress(worker, msg.updates);
      else if (msg.t === 'drained') worker.onDrained?.(msg.seqs);
      else if (msg.t === 'givenBack') reassign(this.workers, worker, msg.seqs);
    });
    worker.thread.on('error', (err) => {
      worker.crash = err;
    });
    worker.thread.on('exit', (code) => this.exited(worker, code));
    return worker;
  }

  private exited(worker: PoolWorker, code: number): void {
    worker.exited = true;
    this.workers.splice(this.workers.indexOf(worker), 1);
    worker.onDrained?.([]); // a drain() waiting on this worker gets no answer from it now
    if (!worker.loaded) {
      worker.failReady(worker.crash ?? new Error(`a worker thread exited with code ${code} before it was ready`));
      // Jobs handed to it while it loaded never began: they run elsewhere.
      this.settle(worker, requeued(worker.inFlight.keys()));
      // A retired or standby one was stopped on purpose (hot reload, an unused discoverer)
      // or belonged to a discarded generation: only an active one leaves a place empty.
      const lostBefore = this.loadLosses.get(worker) ?? 0;
      this.loadLosses.delete(worker);
      if (worker.state === 'active' && !this.closing) {
        if (this.started) this.replaceLoading(worker, code, lostBefore);
        else this.lostBeforeStart.push(() => this.replaceLoading(worker, code, lostBefore));
      }
      return;
    }
    // A retired worker stopped as planned (or died finishing its last jobs); a standby
    // one belonged to a generation that was discarded; a spare had nothing: none is replaced.
    if (worker.state !== 'active') {
      if (worker.inFlight.size > 0) this.buryWorker(worker, code, false);
    } else this.buryWorker(worker, code, true);
    this.wakeIdle();
  }

  private progress(worker: PoolWorker, updates: { seq: number; value: string }[]): void {
    for (const u of updates) {
      const p = worker.inFlight.get(u.seq);
      p?.batch.onProgress?.(p.job, u.value);
    }
  }

  private settle(worker: PoolWorker, outcomes: Outcome[]): void {
    for (const o of outcomes) {
      const p = worker.inFlight.get(o.seq);
      if (!p) continue;
      worker.inFlight.delete(o.seq);
      if (this.losses.size > 0 && o.kind !== 'requeue') this.losses.delete(p.job.id);
      resolvePending(p, o);
    }
    stopIfRetired(worker);
    this.wakeIdle();
  }

  /**
   * Hand jobs to the least busy worker, all in one message. `onOutcome` hears of each
   * job's outcome as its worker reports it; the promise resolves once every job has one
   * (it never rejects: a lost worker's jobs come back as `failed` or `requeue`). One
   * callback per batch, no promise per job: this is the hot path of every job.
   */
  run(
    jobs: WireJob[],
    onOutcome: (job: WireJob, outcome: Outcome) => void,
    onProgress?: (job: WireJob, value: string) => void,
  ): Promise<void> {
    return new Promise<void>((done) => {
      if (jobs.length === 0) return done();
      const batch: Batch = { left: jobs.length, onOutcome, onProgress, done };
      const worker = leastBusy(this.workers);
      for (const job of jobs) {
        // Not recovered: this job lost no worker since its last outcome. An entry under its
        // id is a namesake's that left without one here (cancelled or expired while it
        // waited to run again), whose result has since expired and freed the id.
        if (!job.recovered && this.losses.size > 0) this.losses.delete(job.id);
        job.seq = this.nextSeq++; // the caller's seq is a placeholder: numbering is the pool's
        if (this.nextSeq > 0x7fffffff) this.nextSeq = 1;
        assign({ job, batch }, worker);
      }
    });
  }

  /** Fire the AbortSignal of a running job (cancel, cold shutdown). */
  abort(jobId: string, reason: 'cancelled' | 'shutdown'): void {
    // A search rather than an index by id: aborts are rare, and an index costs every job two map updates.
    for (const worker of this.workers) {
      if (worker.exited) continue;
      for (const [seq, p] of worker.inFlight) {
        if (p.job.id === jobId) {
          worker.thread.postMessage({ t: 'abort', seq, reason } satisfies HostMessage);
          return;
        }
      }
    }
  }

  /**
   * Take back every job that a worker holds but has not begun: they come back as `requeue`
   * (revert) outcomes. A worker whose thread is blocked (a task that never yields) cannot
   * answer: at `deadline()` the wait ends without it, and close() terminates it.
   */
  drain(deadline: () => number = () => Number.POSITIVE_INFINITY): Promise<number> {
    this.closing = true;
    return drainWorkers(this.workers, (worker, outcomes) => this.settle(worker, outcomes), deadline);
  }

  /** Resolves when no job is in flight (true), or once `deadline()` (epoch ms, may move) has passed (false). */
  async idle(deadline: () => number): Promise<boolean> {
    while (this.inFlight > 0 && Date.now() < deadline()) {
      // Woken when jobs settle or a worker exits, and by the watchdog's tick (the deadline may move).
      await new Promise<void>((resolve) => {
        const wake = () => {
          this.idleWaiters.delete(wake);
          resolve();
        };
        this.idleWaiters.add(wake);
      });
    }
    return this.inFlight === 0;
  }

  private wakeIdle(): void {
    for (const wake of this.idleWaiters) wake();
  }

  /** Stop every worker now; jobs still in flight come back as requeue outcomes. */
  async close(): Promise<void> {
    this.closing = true;
    clearInterval(this.watchdog);
    clearTimeout(this.discoverer?.timer);
    await Promise.all(this.workers.map((w) => w.thread.terminate()));
  }

  /**
   * A worker is gone: its jobs are settled (worker-death.ts), and it is replaced unless
   * `replace` is false (a retired worker) or the pool is closing.
   */
  private buryWorker(worker: PoolWorker, code: number, replace: boolean): void {
    settleLostJobs(worker, code, this.closing, this.losses, this.opts);
    if (this.closing) return;
    const why = deathReason(worker, code);
    if (!replace) {
      this.opts.onEvent?.(`worker thread of the previous code generation lost (${why}) while finishing its jobs`);
      return;
    }
    this.opts.onEvent?.(`worker thread lost (${why}); starting a replacement`);
    this.replace();
  }

  /**
   * A worker died while loading its modules (its jobs had not begun: they went back), after
   * `lostBefore` others in its place. It is replaced, unless that place has now lost
   * maxWorkerLosses threads in a row this way: modules that kill every thread that imports
   * them would otherwise restart threads forever.
   */
  private replaceLoading(worker: PoolWorker, code: number, lostBefore: number): void {
    if (this.closing) return;
    const lost = lostBefore + 1;
    const why = `worker thread lost while loading the task modules (${deathReason(worker, code)})`;
    if (lost >= this.opts.maxWorkerLosses) {
      const live = this.workers.filter((w) => w.state === 'active').length;
      this.opts.onEvent?.(
        `${why}, ${lost} time(s) in a row (maxWorkerLosses): not replaced, the pool runs ${live} of its ${this.opts.size} threads`,
      );
      return;
    }
    this.opts.onEvent?.(`${why}; starting a replacement`);
    this.loadLosses.set(this.replace(), lost);
  }

  /** Start a worker in a lost one's place. Should it die while loading, exited() reports it. */
  private replace(): PoolWorker {
    const worker = this.spawn('active');
    worker.ready.then(
      ({ problems }) => {
        for (const p of problems) this.opts.onEvent?.(p.message);
      },
      () => undefined,
    );
    return worker;
  }
}

/** The first of `ready` to resolve; if every one rejects, the first one's error. */
async function firstReady(ready: Promise<WorkerReady>[]): Promise<WorkerReady> {
  try {
    return await Promise.any(ready);
  } catch (err) {
    throw (err as AggregateError).errors[0];
  }
}
