// Messages between the host and its worker threads. Jobs travel in batches: one
// postMessage carries every job (or outcome) of the same event-loop turn, except that a
// worker posts the outcomes it holds before its next job once the first of them began
// ≥ 1 ms ago or when that job is not known to take less (worker.ts). Batches travel in
// columns (columns.ts); each end works with WireJob and Outcome objects.
import type { SerializedError } from '../errors.js';
import type { SlotKind } from '../jobs.js';
import type { ScheduleEntry } from '../schedule/types.js';
import type { ModuleProblem, PluginRef, TaskManifestEntry } from '../registry/types.js';
import type { JobColumns, OutcomeColumns } from './columns.js';

export interface WireJob {
  /** Per-worker sequence number: how the worker's running-slot table names the job. */
  seq: number;
  id: string;
  task: string;
  /** JSON text of the argument array. */
  args: string;
  attempt: number;
  retries: number;
  recovered: boolean;
  /** Per-call overrides stored with the job, else the task's own options apply. */
  maxRetries?: number;
  retryDelayMs?: number;
  /** A periodic schedule's slot job: how it was sent (what context().schedule reports). */
  slot?: SlotKind;
}

export type Outcome = (
  | { seq: number; kind: 'succeeded'; result?: string }
  | { seq: number; kind: 'failed'; error: SerializedError }
  | { seq: number; kind: 'retry'; error: SerializedError; runAt: number; args?: string }
  /** The job's worker was lost under it for a reason that is not the job's fault: run it again. */
  | { seq: number; kind: 'requeue'; revert: boolean }
) & {
  /** How long the task ran in its worker, in ms (absent when it did not run): the host sizes the groups of jobs it sends by it. */
  runMs?: number;
  /** When the task function was called (epoch ms; absent when it was not): what rate limits count. */
  begunAt?: number;
};

export type HostMessage =
  | { t: 'run'; jobs: JobColumns }
  | { t: 'abort'; seq: number; reason: 'cancelled' | 'shutdown' }
  | { t: 'drain' }
  /** Give back the jobs queued but not begun (the host moves them to an idle worker); keep running. */
  | { t: 'giveBack' }
  /** To a spare worker (mode `spare`): import these modules now, then run jobs. */
  | { t: 'load'; modules: string[]; plugins: PluginRef[] };

export type WorkerMessage =
  | {
      t: 'ready';
      tasks: TaskManifestEntry[];
      schedules: ScheduleEntry[];
      problems: ModuleProblem[];
      modules: { file: string; plugin?: string }[];
    }
  | { t: 'done'; outcomes: OutcomeColumns }
  /** The latest progress of running jobs (JSON text), coalesced: one message for many calls. */
  | { t: 'progress'; updates: { seq: number; value: string }[] }
  | { t: 'drained'; seqs: number[] }
  | { t: 'givenBack'; seqs: number[] };

export interface WorkerData {
  /**
   * `spare` (hot reload): start, import everything but the task code, then wait for a
   * `load` message naming the modules; `modules` then only decides whether tsx is registered.
   */
  mode: 'run' | 'discover' | 'spare';
  modules: string[];
  plugins: PluginRef[];
  /** Slots in this worker: jobs that may run at once in it (async tasks overlap). */
  concurrency: number;
  /** Extra time after a timeout's abort before the host terminates the worker. */
  timeoutGraceMs: number;
  maxResultBytes: number;
  /**
   * Shared with the host: per slot, the seq of the running job (Int32) and its hard
   * deadline (Float64, epoch ms); then one Int32, the seq of the job that brought the
   * thread down (process.exit, an uncaught exception in its async context), 0 if unknown;
   * then one Int32, how many jobs the worker has taken off its queue (begun, given back,
   * or aborted before they began). Its queue is first in, first out, so the host can tell
   * which of the jobs it sent have begun.
   */
  slotTable: SharedArrayBuffer;
}

/**
 * Layout of `WorkerData.slotTable`: Int32 seq per slot, Float64 deadline per slot, Float64
 * start time per slot (epoch ms), then the Int32 culprit and the Int32 count of jobs taken.
 */
export function slotViews(
  buf: SharedArrayBuffer,
  concurrency: number,
): { running: Int32Array; deadline: Float64Array; began: Float64Array; culprit: Int32Array; taken: Int32Array } {
  const running = new Int32Array(buf, 0, concurrency);
  const offset = Math.ceil((concurrency * 4) / 8) * 8;
  return {
    running,
    deadline: new Float64Array(buf, offset, concurrency),
    began: new Float64Array(buf, offset + concurrency * 8, concurrency),
    culprit: new Int32Array(buf, offset + concurrency * 16, 1),
    taken: new Int32Array(buf, offset + concurrency * 16 + 4, 1),
  };
}

export function slotBytes(concurrency: number): number {
  return Math.ceil((concurrency * 4) / 8) * 8 + concurrency * 16 + 8;
}
