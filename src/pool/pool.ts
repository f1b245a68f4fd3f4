// The worker_threads pool. Jobs go to the least busy worker; all jobs for one worker
// in the same event-loop turn travel in one message. Each worker shares a small slot
// table with the host (which job runs in which slot, and its hard deadline), so the
// host can enforce timeouts with one watchdog timer and, when a worker dies, knows
// exactly which job was running in it: that job fails, the others run again.
// Hot reload swaps whole generations: reload() starts a complete new set of workers;
// once every one of them has loaded the modules cleanly they take all new jobs, and the
// old ones give back what they have not begun and stop when their running jobs finish.
import { statSync } from 'node:fs';
import type { ResourceLimits, Worker } from 'node:worker_threads';
import { needsTsx, spawnWorker } from './spawn.js';
import {
  slotBytes,
  slotViews,
  type HostMessage,
  type ModuleProblem,
  type Outcome,
  type PluginRef,
  type TaskManifestEntry,
  type WireJob,
  type WorkerMessage,
} from './protocol.js';
import type { SerializedError } from '../errors.js';
import type { ScheduleEntry } from '../schedule/types.js';

export interface PoolOptions {
  modules: string[];
  plugins: PluginRef[];
  /** Worker threads. */
  size: number;
  /** Jobs running at once inside one worker. */
  concurrency: number;
  timeoutGraceMs: number;
  maxResultBytes: number;
  resourceLimits?: ResourceLimits;
  /**
   * How many times a job may lose its worker thread under it (exit, crash, out of memory)
   * before it fails for good: below that it runs again, flagged recovered.
   */
  maxWorkerLosses: number;
  /** Told when a worker is lost and replaced, or a replacement fails to load its modules. */
  onEvent?: (message: string) => void;
  /**
   * Keep a spare generation started ahead of time (thread up, tsx registered, celeriac
   * imported), so that reload() only has to import the task modules. For hot reload.
   */
  spares?: boolean;
}

/** What a worker reports once it has imported its modules. */
export interface WorkerReady {
  tasks: TaskManifestEntry[];
  /** The schedules the modules declare (schedule()). */
  schedules: ScheduleEntry[];
  problems: ModuleProblem[];
  /** Every module file it imported (task paths and plugins' taskImports). */
  modules: { file: string; plugin?: string }[];
}

export type ReloadResult =
  | ({ ok: true } & WorkerReady)
  /** The new generation was discarded: `problems` (import, duplicate, plugin) or `error` (a worker failed to start) says why. */
  | { ok: false; problems: ModuleProblem[]; error?: string };

/**
 * `spare`: started ahead of time, waiting to be told which modules to load (see
 * `PoolOptions.spares`). `standby`: a worker of a new generation, loading; it takes no
 * jobs until the whole generation is ready. `active`: takes jobs. `retired`: an old generation's worker,
 * finishing its running jobs; it is terminated once it has none (never replaced).
 */
type SlotState = 'spare' | 'standby' | 'active' | 'retired';

/** Jobs handed over together by one run() call: told of each outcome, resolved after the last. */
interface Batch {
  left: number;
  onOutcome: (job: WireJob, outcome: Outcome) => void;
  onProgress: ((job: WireJob, value: string) => void) | undefined;
  done: () => void;
}

interface Pending {
  job: WireJob;
  batch: Batch;
  /** Its place in its worker's queue (first in, first out): it has begun once the worker has taken more than this many. */
  index?: number;
}

interface Slot {
  worker: Worker;
  state: SlotState;
  ready: Promise<WorkerReady>;
  /** Whether tsx is registered in it (a spare can only take .ts modules if so). */
  tsx: boolean;
  running: Int32Array;
  deadline: Float64Array;
  /** When the job in each slot began (epoch ms). */
  began: Float64Array;
  /** A giveBack request is out: do not ask again until it is answered. */
  givingBack?: boolean;
  /** Set by the worker as it dies: the seq of the job that called process.exit() or threw uncaught (0: unknown). */
  culprit: Int32Array;
  /** How many jobs the worker has taken off its queue (see WorkerData.slots). */
  taken: Int32Array;
  /** Jobs handed to this worker so far: each Pending's `index`. */
  assigned: number;
  inFlight: Map<number, Pending>;
  outbox: WireJob[];
  /** The seq whose timeout made us terminate this worker. */
  killedFor?: number;
  crash?: Error;
  exited: boolean;
  onDrained?: (seqs: number[]) => void;
}

function resolvePending(p: Pending, outcome: Outcome): void {
  p.batch.onOutcome(p.job, outcome);
  if (--p.batch.left === 0) p.batch.done();
}

function fileIsEmpty(file: string): boolean {
  try {
    return statSync(file).size === 0;
  } catch {
    return false;
  }
}

const WATCHDOG_MS = 50;
/** A worker whose every slot has run one job this long, with more queued, gives the queued ones to an idle worker. */
const STEAL_AFTER_MS = 100;
/** How long a new generation may take to import its modules before the reload is given up. */
const RELOAD_READY_TIMEOUT_MS = 30_000;
const SPARES_DELAY_MS = 300;
/** How long the worker that discovered the tasks waits, idle, for start() to adopt it. */
const ADOPT_WITHIN_MS = 2_000;

export class WorkerPool {
  private readonly workers: Slot[] = [];
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
  /** The worker discover() started, until start() adopts it or it is stopped unused. */
  private discoverer: { slot: Slot; timer?: NodeJS.Timeout } | undefined;

  constructor(private readonly opts: PoolOptions) {
    this.modules = opts.modules;
    this.plugins = opts.plugins;
  }

  /**
   * Start one worker that imports the modules and reports what they define, before
   * start(): start() adopts it as its first worker, so that the modules are not imported
   * in a throwaway thread. Until then it takes no jobs and does not keep the process alive;
   * not adopted within ADOPT_WITHIN_MS of reporting (an app that only sends), it stops.
   */
  discover(): Promise<WorkerReady> {
    const slot = this.spawn('standby');
    const discoverer: { slot: Slot; timer?: NodeJS.Timeout } = { slot };
    this.discoverer = discoverer;
    slot.ready.then(
      () => {
        if (this.discoverer !== discoverer) return;
        // Held (ref) while it loads: createCeleriac() awaits it.
        slot.worker.unref();
        discoverer.timer = setTimeout(() => this.dropDiscoverer(), ADOPT_WITHIN_MS);
        discoverer.timer.unref();
      },
      () => undefined,
    );
    return slot.ready;
  }

  private dropDiscoverer(): void {
    const slot = this.discoverer?.slot;
    clearTimeout(this.discoverer?.timer);
    this.discoverer = undefined;
    if (!slot) return;
    slot.state = 'retired';
    if (!slot.exited) void slot.worker.terminate();
  }

  /** The worker discover() started, as an active one, if it is still there. */
  private adoptDiscoverer(): Slot[] {
    const slot = this.discoverer?.slot;
    clearTimeout(this.discoverer?.timer);
    this.discoverer = undefined;
    if (!slot || slot.exited || slot.state !== 'standby') return [];
    slot.state = 'active';
    slot.worker.ref();
    return [slot];
  }

  /** Start every worker (adopting discover()'s); resolves once all imported their modules. */
  async start(): Promise<WorkerReady> {
    const adopted = this.adoptDiscoverer();
    const ready = await Promise.all([
      ...adopted.map((s) => s.ready),
      ...Array.from({ length: this.opts.size - adopted.length }, () => this.spawn('active').ready),
    ]);
    this.watchdog = setInterval(() => this.checkDeadlines(), WATCHDOG_MS);
    this.watchdog.unref();
    this.warmSpares();
    return ready[0]!;
  }

  /** start() has completed: every worker imported its modules. */
  get started(): boolean {
    return this.watchdog !== undefined;
  }

  get capacity(): number {
    return this.opts.size * this.opts.concurrency;
  }

  get inFlight(): number {
    let n = 0;
    for (const w of this.workers) n += w.inFlight.size;
    return n;
  }

  /** Each live thread, for the dashboard: its state, jobs in flight, event-loop utilization. */
  threads(): { threadId: number; state: string; inFlight: number; utilization: number }[] {
    return this.workers
      .filter((w) => !w.exited)
      .map((w) => ({
        threadId: w.worker.threadId,
        state: w.state,
        inFlight: w.inFlight.size,
        utilization: w.worker.performance.eventLoopUtilization().utilization,
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
    const tsx = needsTsx(modules, plugins);
    const spared = this.workers.filter((w) => w.state === 'spare' && !w.exited && (w.tsx || !tsx)).slice(0, this.opts.size);
    for (const slot of spared) {
      slot.state = 'standby';
      slot.worker.postMessage({ t: 'load', modules, plugins } satisfies HostMessage);
    }
    const spawned = [...spared, ...Array.from({ length: this.opts.size - spared.length }, () => this.spawn('standby', modules, plugins))];
    try {
      return await this.swapTo(spawned, modules, plugins);
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

  private async swapTo(spawned: Slot[], modules: string[], plugins: PluginRef[]): Promise<ReloadResult> {
    const discard = () => {
      for (const slot of spawned) {
        slot.state = 'retired';
        if (!slot.exited) void slot.worker.terminate();
      }
    };
    let timer: NodeJS.Timeout | undefined;
    let ready: WorkerReady[];
    try {
      ready = await Promise.race([
        Promise.all(spawned.map((s) => s.ready)),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () =>
              reject(
                new Error(
                  `the new workers did not finish importing the task modules within ${RELOAD_READY_TIMEOUT_MS / 1000} s (does a module wait at its top level?)`,
                ),
              ),
            RELOAD_READY_TIMEOUT_MS,
          );
        }),
      ]);
    } catch (err) {
      discard();
      return { ok: false, problems: [], error: `a worker of the new generation failed to start: ${(err as Error).message}` };
    } finally {
      clearTimeout(timer);
    }
    const first = ready[0]!;
    const lost = spawned.some((slot) => slot.exited);
    // A module with no tasks is only a warning — unless its file is empty right now: an
    // editor caught mid-save (truncate, then write). Swapping in would fail every queued
    // job of its tasks; keep the old code, the write that follows triggers another reload.
    const midSave = first.problems.filter((p) => p.kind === 'empty' && fileIsEmpty(p.file));
    if (midSave.length > 0 && !this.closing && !lost) {
      discard();
      return { ok: false, problems: [], error: `${midSave.map((p) => p.file).join(', ')} was empty (caught in the middle of a save)` };
    }
    if (this.closing || lost || first.problems.some((p) => p.kind !== 'empty')) {
      discard();
      if (this.closing) return { ok: false, problems: [], error: 'the pool is closing' };
      return lost
        ? { ok: false, problems: first.problems, error: 'a worker of the new generation exited right after loading' }
        : { ok: false, problems: first.problems };
    }
    for (const w of [...this.workers]) if (w.state === 'active') this.retire(w);
    for (const slot of spawned) slot.state = 'active';
    this.modules = modules;
    this.plugins = plugins;
    this.generation++;
    return { ok: true, ...first };
  }

  /** Take no more jobs; give back those not begun; stop once the running ones are done. */
  private retire(slot: Slot): void {
    slot.state = 'retired';
    // Also catches a batch that run() queued for this worker in this very turn: the
    // worker bounces it back as drained once it has seen the drain.
    slot.onDrained = (seqs) =>
      this.settle(
        slot,
        seqs.map((seq) => ({ seq, kind: 'requeue', revert: true })),
      );
    if (!slot.exited) slot.worker.postMessage({ t: 'drain' } satisfies HostMessage);
    this.stopIfRetired(slot);
  }

  private stopIfRetired(slot: Slot): void {
    if (slot.state === 'retired' && slot.inFlight.size === 0 && !slot.exited) void slot.worker.terminate();
  }

  private spawn(state: SlotState, modules = this.modules, plugins = this.plugins): Slot {
    const slots = new SharedArrayBuffer(slotBytes(this.opts.concurrency));
    const worker = spawnWorker(
      {
        mode: state === 'spare' ? 'spare' : 'run',
        modules,
        plugins,
        concurrency: this.opts.concurrency,
        timeoutGraceMs: this.opts.timeoutGraceMs,
        maxResultBytes: this.opts.maxResultBytes,
        slots,
      },
      this.opts.resourceLimits,
    );
    let markReady!: (r: WorkerReady) => void;
    let failReady!: (err: Error) => void;
    const ready = new Promise<WorkerReady>((resolve, reject) => {
      markReady = resolve;
      failReady = reject;
    });
    const slot: Slot = {
      worker,
      state,
      ready,
      tsx: needsTsx(modules, plugins),
      ...slotViews(slots, this.opts.concurrency),
      inFlight: new Map(),
      outbox: [],
      assigned: 0,
      exited: false,
    };
    this.workers.push(slot);
    let isReady = false;
    worker.on('message', (msg: WorkerMessage) => {
      if (msg.t === 'ready') {
        isReady = true;
        markReady({ tasks: msg.tasks, schedules: msg.schedules, problems: msg.problems, modules: msg.modules });
      } else if (msg.t === 'done') this.settle(slot, msg.outcomes);
      else if (msg.t === 'progress') this.progress(slot, msg.updates);
      else if (msg.t === 'drained') slot.onDrained?.(msg.seqs);
      else if (msg.t === 'givenBack') this.reassign(slot, msg.seqs);
    });
    worker.on('error', (err) => {
      slot.crash = err;
    });
    worker.on('exit', (code) => {
      slot.exited = true;
      this.workers.splice(this.workers.indexOf(slot), 1);
      slot.onDrained?.([]); // a drain() waiting on this worker gets no answer from it now
      if (!isReady) {
        failReady(slot.crash ?? new Error(`a worker thread exited with code ${code} before it was ready`));
        // Jobs handed to it while it loaded never began: they run elsewhere.
        this.settle(
          slot,
          [...slot.inFlight.keys()].map((seq) => ({ seq, kind: 'requeue', revert: true })),
        );
        return;
      }
      // A retired worker stopped as planned (or died finishing its last jobs); a standby
      // one belonged to a generation that was discarded; a spare had nothing: none is replaced.
      if (slot.state !== 'active') {
        if (slot.inFlight.size > 0) this.buryWorker(slot, code, false);
        return;
      }
      this.buryWorker(slot, code, true);
    });
    slot.ready.catch(() => undefined); // spares, a discarded generation's workers: reload() reports why
    return slot;
  }

  private progress(slot: Slot, updates: { seq: number; value: string }[]): void {
    for (const u of updates) {
      const p = slot.inFlight.get(u.seq);
      p?.batch.onProgress?.(p.job, u.value);
    }
  }

  private settle(slot: Slot, outcomes: Outcome[]): void {
    for (const o of outcomes) {
      const p = slot.inFlight.get(o.seq);
      if (!p) continue;
      slot.inFlight.delete(o.seq);
      if (this.losses.size > 0 && o.kind !== 'requeue') this.losses.delete(p.job.id);
      resolvePending(p, o);
    }
    this.stopIfRetired(slot);
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
      const slot = this.leastBusy();
      for (const job of jobs) {
        // Not recovered: this job lost no worker since its last outcome. An entry under its
        // id is a namesake's that left without one here (cancelled or expired while it
        // waited to run again), whose result has since expired and freed the id.
        if (!job.recovered && this.losses.size > 0) this.losses.delete(job.id);
        job.seq = this.nextSeq++; // the caller's seq is a placeholder: numbering is the pool's
        if (this.nextSeq > 0x7fffffff) this.nextSeq = 1;
        this.assign({ job, batch }, slot);
      }
    });
  }

  private leastBusy(except?: Slot): Slot | undefined {
    let best: Slot | undefined;
    for (const w of this.workers)
      if (w !== except && w.state === 'active' && !w.exited && w.killedFor === undefined && (!best || w.inFlight.size < best.inFlight.size))
        best = w;
    return best;
  }

  /** Queue a job on `slot` (none: no worker can take it, it comes back at once); its message leaves with the others of this turn. */
  private assign(p: Pending, slot: Slot | undefined): void {
    if (!slot) {
      resolvePending(p, { seq: p.job.seq, kind: 'requeue', revert: true });
      return;
    }
    p.index = slot.assigned++;
    slot.inFlight.set(p.job.seq, p);
    if (slot.outbox.push(p.job) === 1) {
      queueMicrotask(() => {
        const jobs = slot.outbox;
        slot.outbox = [];
        if (!slot.exited) slot.worker.postMessage({ t: 'run', jobs } satisfies HostMessage);
      });
    }
  }

  /**
   * Jobs wait in a worker's queue so that a short job never waits for a message round
   * trip. Behind a long job that is a trap, Celery's prefetch problem: when one worker is
   * idle while another sits on queued jobs behind a job running for over STEAL_AFTER_MS,
   * the busy one is asked to give its queued jobs back, and they move.
   */
  private stealForIdle(now: number): void {
    const idle = this.workers.some(
      (w) => w.state === 'active' && !w.exited && w.killedFor === undefined && w.inFlight.size < this.opts.concurrency,
    );
    if (!idle) return;
    for (const w of this.workers) {
      if (w.state !== 'active' || w.exited || w.givingBack || w.inFlight.size <= this.opts.concurrency) continue;
      let stuck = true;
      for (let i = 0; i < w.running.length; i++) {
        if (Atomics.load(w.running, i) === 0 || now - w.began[i]! < STEAL_AFTER_MS) stuck = false;
      }
      if (!stuck) continue;
      w.givingBack = true;
      w.worker.postMessage({ t: 'giveBack' } satisfies HostMessage);
    }
  }

  private reassign(from: Slot, seqs: number[]): void {
    from.givingBack = false;
    for (const seq of seqs) {
      const p = from.inFlight.get(seq);
      if (!p) continue;
      from.inFlight.delete(seq);
      this.assign(p, this.leastBusy(from));
    }
  }

  /** Fire the AbortSignal of a running job (cancel, cold shutdown). */
  abort(jobId: string, reason: 'cancelled' | 'shutdown'): void {
    // A search rather than an index by id: aborts are rare, and an index costs every job two map updates.
    for (const slot of this.workers) {
      if (slot.exited) continue;
      for (const [seq, p] of slot.inFlight) {
        if (p.job.id === jobId) {
          slot.worker.postMessage({ t: 'abort', seq, reason } satisfies HostMessage);
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
  async drain(deadline: () => number = () => Number.POSITIVE_INFINITY): Promise<number> {
    this.closing = true;
    let answered = 0;
    const pending = this.workers.filter((w) => (w.state === 'active' || w.state === 'retired') && !w.exited);
    let left = pending.length;
    if (left === 0) return 0;
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        if (Date.now() >= deadline()) finish();
      }, 10);
      const finish = () => {
        clearInterval(timer);
        resolve();
      };
      for (const slot of pending) {
        slot.onDrained = (seqs) => {
          slot.onDrained = (later) =>
            this.settle(
              slot,
              later.map((seq) => ({ seq, kind: 'requeue', revert: true })),
            );
          this.settle(
            slot,
            seqs.map((seq) => ({ seq, kind: 'requeue', revert: true })),
          );
          answered += seqs.length;
          if (--left === 0) finish();
        };
        slot.worker.postMessage({ t: 'drain' } satisfies HostMessage);
      }
    });
    return answered;
  }

  /** Resolves when no job is in flight (true), or once `deadline()` (epoch ms, may move) has passed (false). */
  async idle(deadline: () => number): Promise<boolean> {
    while (this.inFlight > 0 && Date.now() < deadline()) await new Promise((r) => setTimeout(r, 10));
    return this.inFlight === 0;
  }

  /** Stop every worker now; jobs still in flight come back as requeue outcomes. */
  async close(): Promise<void> {
    this.closing = true;
    clearInterval(this.watchdog);
    clearTimeout(this.discoverer?.timer);
    await Promise.all(this.workers.map((w) => w.worker.terminate()));
  }

  private checkDeadlines(): void {
    const now = Date.now();
    this.stealForIdle(now);
    for (const w of this.workers) {
      if (w.killedFor !== undefined || w.exited) continue;
      for (let i = 0; i < w.running.length; i++) {
        const seq = Atomics.load(w.running, i);
        const due = w.deadline[i]!;
        if (seq !== 0 && due > 0 && now > due) {
          w.killedFor = seq;
          void w.worker.terminate();
          break;
        }
      }
    }
  }

  /**
   * The jobs a worker's death is blamed on: the one killed for its timeout, else the one
   * the worker named as it died; when nobody is named (out of memory, an exit outside any
   * job's code), every job that had begun and whose outcome had not come back — running,
   * or done with its outcome not yet posted.
   */
  private suspects(slot: Slot): Set<number> {
    const blamed = slot.killedFor ?? (Atomics.load(slot.culprit, 0) || undefined);
    if (blamed !== undefined) return new Set([blamed]);
    const taken = Atomics.load(slot.taken, 0);
    const begun = new Set<number>();
    for (const [seq, p] of slot.inFlight) if (p.index! < taken) begun.add(seq);
    return begun;
  }

  /**
   * A worker is gone: the job(s) to blame fail — or, below maxWorkerLosses, run again;
   * the others are given back; the worker is replaced (unless it was retired).
   */
  private buryWorker(slot: Slot, code: number, replace: boolean): void {
    const cause = this.deathCause(slot, code);
    const suspects = this.suspects(slot);
    const pending = [...slot.inFlight];
    slot.inFlight.clear();
    const taken = Atomics.load(slot.taken, 0);
    for (const [seq, p] of pending) {
      // A job the worker had not taken off its queue never began: its attempt is not counted.
      if (this.closing || !suspects.has(seq)) resolvePending(p, { seq, kind: 'requeue', revert: p.index! >= taken });
      else if (slot.killedFor !== undefined) {
        this.losses.delete(p.job.id);
        resolvePending(p, { seq, kind: 'failed', error: cause(p.job) });
      } else {
        const lost = (this.losses.get(p.job.id) ?? 0) + 1;
        if (lost < this.opts.maxWorkerLosses) {
          this.losses.set(p.job.id, lost);
          resolvePending(p, { seq, kind: 'requeue', revert: false });
        } else {
          this.losses.delete(p.job.id);
          resolvePending(p, { seq, kind: 'failed', error: workerLost(cause(p.job), lost, this.opts.maxWorkerLosses) });
        }
      }
    }
    if (this.closing) return;
    const why = slot.killedFor !== undefined ? 'terminated after a timeout' : slot.crash ? slot.crash.message : `exit code ${code}`;
    if (!replace) {
      this.opts.onEvent?.(`worker thread of the previous code generation lost (${why}) while finishing its jobs`);
      return;
    }
    this.opts.onEvent?.(`worker thread lost (${why}); starting a replacement`);
    this.spawn('active').ready.then(
      ({ problems }) => {
        for (const p of problems) this.opts.onEvent?.(p.message);
      },
      (err: Error) => this.opts.onEvent?.(`a replacement worker failed to start: ${err.message}`),
    );
  }

  private deathCause(slot: Slot, code: number): (job: WireJob) => SerializedError {
    if (slot.killedFor !== undefined) {
      return (job) => ({
        name: 'TimeoutError',
        message: `${job.task} exceeded its timeout and did not stop within ${this.opts.timeoutGraceMs / 1000} s of its AbortSignal firing: its worker thread was terminated`,
      });
    }
    const crash = slot.crash as (Error & { code?: string }) | undefined;
    if (crash?.code === 'ERR_WORKER_OUT_OF_MEMORY') {
      const limit = this.opts.resourceLimits?.maxOldGenerationSizeMb;
      return (job) => ({
        name: 'WorkerOutOfMemory',
        message: `${job.task} ran out of memory: its worker thread exceeded the heap limit${limit ? ` of ${limit} MB (maxMemoryMb)` : ''} and was stopped`,
        code: 'ERR_WORKER_OUT_OF_MEMORY',
      });
    }
    if (crash) {
      return (job) => ({
        name: 'WorkerCrashed',
        message: `${job.task}: its worker thread died from an uncaught ${crash.name}: ${crash.message} (an error thrown from a timer or callback, or an unhandled rejection, inside the task)`,
        ...(crash.stack ? { stack: crash.stack } : {}),
      });
    }
    return (job) => ({
      name: 'WorkerExited',
      message: `${job.task}: its worker thread exited with code ${code} while the task ran (did the task call process.exit()?)`,
    });
  }
}

/** The error of a job that lost its worker once too often: Celery's WorkerLostError, with the cause of the last loss. */
function workerLost(cause: SerializedError, lost: number, max: number): SerializedError {
  const times = max > 1 ? ` (it lost its worker thread ${lost} times; maxWorkerLosses is ${max})` : '';
  return { ...cause, message: `${cause.message}${times}`, code: 'WORKER_LOST' };
}
