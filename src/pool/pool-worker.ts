// One worker thread as the pool sees it: its state in the hot reload cycle, the slot
// table it shares with the host, and the jobs handed to it whose outcome has not come back.
import type { ResourceLimits, Worker } from 'node:worker_threads';
import type { ModuleProblem, PluginRef, TaskManifestEntry } from '../registry/types.js';
import type { ScheduleEntry } from '../schedule/types.js';
import { type Outcome, slotBytes, slotViews, type WireJob } from './protocol.js';
import { needsTsx, spawnWorker } from './spawn.js';

/** What a worker reports once it has imported its modules. */
export interface WorkerReady {
  tasks: TaskManifestEntry[];
  /** The schedules the modules declare (schedule()). */
  schedules: ScheduleEntry[];
  problems: ModuleProblem[];
  /** Every module file it imported (task paths and plugins' taskImports). */
  modules: { file: string; plugin?: string }[];
}

/**
 * `spare`: started ahead of time, waiting to be told which modules to load (see
 * `PoolOptions.spares`). `standby`: a worker of a new generation, loading; it takes no
 * jobs until the whole generation is ready. `active`: takes jobs. `retired`: an old generation's worker,
 * finishing its running jobs; it is terminated once it has none (never replaced).
 */
export type WorkerState = 'spare' | 'standby' | 'active' | 'retired';

/** Jobs handed over together by one run() call: told of each outcome, resolved after the last. */
export interface Batch {
  left: number;
  onOutcome: (job: WireJob, outcome: Outcome) => void;
  onProgress: ((job: WireJob, value: string) => void) | undefined;
  done: () => void;
}

export interface Pending {
  job: WireJob;
  batch: Batch;
  /** Its place in its worker's queue (first in, first out): it has begun once the worker has taken more than this many. */
  index?: number;
}

export interface PoolWorker {
  thread: Worker;
  state: WorkerState;
  ready: Promise<WorkerReady>;
  /** Settles `ready`; `loaded` is set once the thread reported its modules. */
  markReady: (ready: WorkerReady) => void;
  failReady: (err: Error) => void;
  loaded: boolean;
  /** Whether tsx is registered in it (a spare can only take .ts modules if so). */
  tsx: boolean;
  /** Per slot: the seq of the job running in it (0: free). */
  running: Int32Array;
  /** Per slot: the hard deadline of its job (epoch ms, 0: none). */
  deadline: Float64Array;
  /** Per slot: when its job began (epoch ms). */
  began: Float64Array;
  /** A giveBack request is out: do not ask again until it is answered. */
  givingBack?: boolean;
  /** Set by the worker as it dies: the seq of the job that called process.exit() or threw uncaught (0: unknown). */
  culprit: Int32Array;
  /** How many jobs the worker has taken off its queue (see WorkerData.slotTable). */
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

/** What every worker of a pool is started with. */
export interface WorkerSettings {
  /** Slots per worker: jobs running at once inside it. */
  concurrency: number;
  timeoutGraceMs: number;
  maxResultBytes: number;
  resourceLimits?: ResourceLimits;
}

/** Start a worker thread (a spare is told its modules later, by a `load` message) and the host's record of it. */
export function startPoolWorker(state: WorkerState, modules: string[], plugins: PluginRef[], settings: WorkerSettings): PoolWorker {
  const slotTable = new SharedArrayBuffer(slotBytes(settings.concurrency));
  const thread = spawnWorker(
    {
      mode: state === 'spare' ? 'spare' : 'run',
      modules,
      plugins,
      concurrency: settings.concurrency,
      timeoutGraceMs: settings.timeoutGraceMs,
      maxResultBytes: settings.maxResultBytes,
      slotTable,
    },
    settings.resourceLimits,
  );
  let markReady!: (r: WorkerReady) => void;
  let failReady!: (err: Error) => void;
  const ready = new Promise<WorkerReady>((resolve, reject) => {
    markReady = resolve;
    failReady = reject;
  });
  ready.catch(() => undefined); // spares, a discarded generation's workers: reload() reports why
  return {
    thread,
    state,
    ready,
    markReady,
    failReady,
    loaded: false,
    tsx: needsTsx(modules, plugins),
    ...slotViews(slotTable, settings.concurrency),
    inFlight: new Map(),
    outbox: [],
    assigned: 0,
    exited: false,
  };
}

export function resolvePending(p: Pending, outcome: Outcome): void {
  p.batch.onOutcome(p.job, outcome);
  if (--p.batch.left === 0) p.batch.done();
}

/** Jobs that never began, sent back to run elsewhere: their attempt is not counted. */
export function requeued(seqs: Iterable<number>): Outcome[] {
  return Array.from(seqs, (seq) => ({ seq, kind: 'requeue', revert: true }));
}
