// The worker_threads pool. Jobs go to the least busy worker; all jobs for one worker
// in the same event-loop turn travel in one message. Each worker shares a small slot
// table with the host (which job runs in which slot, and its hard deadline), so the
// host can enforce timeouts with one watchdog timer and, when a worker dies, knows
// exactly which job was running in it: that job fails, the others run again.
import type { ResourceLimits, Worker } from 'node:worker_threads';
import { spawnWorker } from './spawn.js';
import { slotBytes, slotViews, type HostMessage, type ModuleProblem, type Outcome, type PluginRef, type TaskManifestEntry, type WireJob, type WorkerMessage } from './protocol.js';
import type { SerializedError } from '../errors.js';

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
  /** Told when a worker is lost and replaced, or a replacement fails to load its modules. */
  onEvent?: (message: string) => void;
}

interface Pending {
  job: WireJob;
  resolve: (o: Outcome) => void;
}

interface Slot {
  worker: Worker;
  running: Int32Array;
  deadline: Float64Array;
  /** Set by the worker as it dies: the seq of the job that called process.exit() or threw uncaught (0: unknown). */
  culprit: Int32Array;
  inFlight: Map<number, Pending>;
  outbox: WireJob[];
  /** The seq whose timeout made us terminate this worker. */
  killedFor?: number;
  crash?: Error;
  exited: boolean;
  onDrained?: (seqs: number[]) => void;
}

const WATCHDOG_MS = 50;

export class WorkerPool {
  private readonly workers: Slot[] = [];
  private readonly byId = new Map<string, { slot: Slot; seq: number }>();
  private nextSeq = 1;
  private watchdog: NodeJS.Timeout | undefined;
  private closing = false;
  manifest: TaskManifestEntry[] = [];

  constructor(private readonly opts: PoolOptions) {}

  /** Start every worker; resolves once all imported their modules. */
  async start(): Promise<{ tasks: TaskManifestEntry[]; problems: ModuleProblem[] }> {
    const ready = await Promise.all(Array.from({ length: this.opts.size }, () => this.spawn()));
    this.manifest = ready[0]!.tasks;
    this.watchdog = setInterval(() => this.checkDeadlines(), WATCHDOG_MS);
    this.watchdog.unref();
    return ready[0]!;
  }

  get capacity(): number {
    return this.opts.size * this.opts.concurrency;
  }

  get inFlight(): number {
    let n = 0;
    for (const w of this.workers) n += w.inFlight.size;
    return n;
  }

  private spawn(): Promise<{ tasks: TaskManifestEntry[]; problems: ModuleProblem[] }> {
    const slots = new SharedArrayBuffer(slotBytes(this.opts.concurrency));
    const worker = spawnWorker(
      {
        mode: 'run',
        modules: this.opts.modules,
        plugins: this.opts.plugins,
        concurrency: this.opts.concurrency,
        timeoutGraceMs: this.opts.timeoutGraceMs,
        maxResultBytes: this.opts.maxResultBytes,
        slots,
      },
      this.opts.resourceLimits,
    );
    const slot: Slot = { worker, ...slotViews(slots, this.opts.concurrency), inFlight: new Map(), outbox: [], exited: false };
    this.workers.push(slot);
    return new Promise((resolve, reject) => {
      let isReady = false;
      worker.on('message', (msg: WorkerMessage) => {
        if (msg.t === 'ready') {
          isReady = true;
          resolve({ tasks: msg.tasks, problems: msg.problems });
        } else if (msg.t === 'done') this.settle(slot, msg.outcomes);
        else if (msg.t === 'drained') slot.onDrained?.(msg.seqs);
      });
      worker.on('error', (err) => {
        slot.crash = err;
      });
      worker.on('exit', (code) => {
        slot.exited = true;
        this.workers.splice(this.workers.indexOf(slot), 1);
        if (!isReady) {
          reject(slot.crash ?? new Error(`a worker thread exited with code ${code} before it was ready`));
          return;
        }
        this.buryWorker(slot, code);
      });
    });
  }

  private settle(slot: Slot, outcomes: Outcome[]): void {
    for (const o of outcomes) {
      const p = slot.inFlight.get(o.seq);
      if (!p) continue;
      slot.inFlight.delete(o.seq);
      this.byId.delete(p.job.id);
      p.resolve(o);
    }
  }

  /** Hand a job to the least busy worker; resolves with its outcome (never rejects). */
  run(job: Omit<WireJob, 'seq'>): Promise<Outcome> {
    let best: Slot | undefined;
    for (const w of this.workers) if (!w.exited && w.killedFor === undefined && (!best || w.inFlight.size < best.inFlight.size)) best = w;
    const seq = this.nextSeq++;
    if (this.nextSeq > 0x7fffffff) this.nextSeq = 1;
    const wire: WireJob = { ...job, seq };
    if (!best) return Promise.resolve({ seq, kind: 'requeue', revert: true });
    const slot = best;
    return new Promise<Outcome>((resolve) => {
      slot.inFlight.set(seq, { job: wire, resolve });
      this.byId.set(job.id, { slot, seq });
      if (slot.outbox.push(wire) === 1) {
        queueMicrotask(() => {
          const jobs = slot.outbox;
          slot.outbox = [];
          if (!slot.exited) slot.worker.postMessage({ t: 'run', jobs } satisfies HostMessage);
        });
      }
    });
  }

  /** Fire the AbortSignal of a running job (cancel, cold shutdown). */
  abort(jobId: string, reason: 'cancelled' | 'shutdown'): void {
    const where = this.byId.get(jobId);
    if (where && !where.slot.exited) where.slot.worker.postMessage({ t: 'abort', seq: where.seq, reason } satisfies HostMessage);
  }

  /** Take back every job that a worker holds but has not begun: they come back as `requeue` (revert) outcomes. */
  async drain(): Promise<number> {
    this.closing = true;
    const counts = await Promise.all(
      this.workers.map(
        (slot) =>
          new Promise<number>((resolve) => {
            slot.onDrained = (seqs) => {
              this.settle(slot, seqs.map((seq) => ({ seq, kind: 'requeue', revert: true })));
              resolve(seqs.length);
            };
            slot.worker.postMessage({ t: 'drain' } satisfies HostMessage);
          }),
      ),
    );
    return counts.reduce((a, b) => a + b, 0);
  }

  /** Resolves when no job is in flight, or after `ms`; true if idle. */
  /** Resolves when no job is in flight (true), or once `deadline()` (epoch ms, may move) has passed (false). */
  async idle(deadline: () => number): Promise<boolean> {
    while (this.inFlight > 0 && Date.now() < deadline()) await new Promise((r) => setTimeout(r, 10));
    return this.inFlight === 0;
  }

  /** Stop every worker now; jobs still in flight come back as requeue outcomes. */
  async close(): Promise<void> {
    this.closing = true;
    clearInterval(this.watchdog);
    await Promise.all(this.workers.map((w) => w.worker.terminate()));
  }

  private checkDeadlines(): void {
    const now = Date.now();
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

  /** A worker is gone: fail the job(s) it was running, give the others back, replace it. */
  private buryWorker(slot: Slot, code: number): void {
    const runningSeqs = new Set<number>();
    for (let i = 0; i < slot.running.length; i++) {
      const seq = Atomics.load(slot.running, i);
      if (seq !== 0) runningSeqs.add(seq);
    }
    const cause = this.deathCause(slot, code);
    // The job to blame: the one we killed for its timeout, else the one the worker named
    // as it died. Only that one fails; jobs running beside it are innocent and run again.
    // When nobody is named (out of memory), every job that was running fails.
    const blamed = slot.killedFor ?? (Atomics.load(slot.culprit, 0) || undefined);
    for (const [seq, p] of slot.inFlight) {
      this.byId.delete(p.job.id);
      if (this.closing) p.resolve({ seq, kind: 'requeue', revert: false });
      else if (blamed !== undefined ? blamed !== seq : !runningSeqs.has(seq)) p.resolve({ seq, kind: 'requeue', revert: false });
      else p.resolve({ seq, kind: 'failed', error: cause(p.job) });
    }
    slot.inFlight.clear();
    if (this.closing) return;
    this.opts.onEvent?.(`worker thread lost (${slot.killedFor !== undefined ? 'terminated after a timeout' : slot.crash ? slot.crash.message : `exit code ${code}`}); starting a replacement`);
    this.spawn().then(
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
