// The seam between the app (the facade users call) and where jobs are kept and how they
// reach the worker pool. Two implementations: the file journal in a data dir (embedded,
// the default) and BullMQ over Redis or PostgreSQL (several hosts). The app owns the
// task registry, the pool and reload; a backend owns durability, dedup, the order jobs
// run in, retries, expiry, cancel, results and recovery. Neither reaches into the other.
import type { CeleriacError } from '../errors.js';
import type { CeleriacEvent } from '../events.js';
import type { JobPage, ParsedListOptions } from '../job-query.js';
import type { JobState, NewJob } from '../jobs.js';
import type { JobLog, Logger } from '../log.js';
import type { WorkerPool } from '../pool/pool.js';
import type { TaskManifestEntry } from '../registry/types.js';
import type { JobInfo } from '../send-types.js';
import type { RecoveryReport } from '../store/types.js';
import type { ServedQueues } from '../queues.js';
import type { Workflow } from '../workflows/canvas.js';
import type { WorkflowHandle, WorkflowSendOptions } from '../workflows/engine.js';

export type BackendKind = 'file' | 'redis' | 'postgres';

/** What the app gives a backend when it opens it. */
export interface BackendContext {
  /** Runs task code in worker threads: `pool.run(wireJobs, onOutcome)`, `pool.abort(id, reason)`. */
  pool: WorkerPool;
  /** The tasks the modules define now (hot reload replaces them): checks jobs handed in by other processes. */
  task(name: string): TaskManifestEntry | undefined;
  /** The UNKNOWN_TASK error for a name `task()` does not know (it lists the known tasks and modules). */
  unknownTask(name: string): CeleriacError;
  log: Logger;
  /** One log line per job event (`logJobs: true`); absent otherwise. */
  jobLog?: JobLog;
  /** The pool's slots: jobs it runs at once (threads × workerConcurrency). */
  capacity: number;
  prefetch: number;
  /** The queues this process runs, with their own concurrency caps; undefined: every queue. */
  queues?: ServedQueues;
  resultTtlMs: number;
  timeoutGraceMs: number;
  /** Tell listeners (`app.on`): called once per event, after the change is durable. */
  emit(event: CeleriacEvent): void;
  /** Whether anyone listens for this event type (build nothing otherwise). */
  wants(type: CeleriacEvent['type']): boolean;
  /** The backend can no longer keep its promises (STORE_FAILED, DATA_DIR_LOST, a lost broker): the app stops. */
  fail(err: CeleriacError): void;
  /**
   * Throws why the app takes no new jobs now (closing: APP_CLOSED; failed: its error).
   * accept() calls it after its dedup, so that a send of a known id still gets its handle.
   */
  assertOpen(): void;
}

export interface Backend {
  readonly kind: BackendKind;
  /** Where the jobs are: the data dir, or the broker URL with its password masked. */
  readonly location: string;
  /** What the open found (jobs interrupted by a crash, results kept…). */
  readonly recovery: RecoveryReport;

  /**
   * Make new jobs durable. A job whose id is already known (or being accepted) creates
   * nothing: its entry in the result is false. Resolves once every created job is durable.
   * `startNow`: the caller would like the job started in the same write if a slot is free.
   * `fresh[i]`: job i's id was drawn at random here (not chosen by the caller), so no
   * known job can have it and a backend may skip the look-up that tells new from known.
   */
  accept(jobs: NewJob[], hint?: { startNow?: boolean; fresh?: boolean[] }): Promise<boolean[]>;
  get(id: string): Promise<JobInfo | undefined>;
  list(options: ParsedListOptions): Promise<JobPage>;
  counts(): Promise<Record<JobState, number>>;
  /** Cancel a job that has not finished; a running one sees its AbortSignal fire (on whichever host runs it). */
  cancel(id: string): Promise<boolean>;
  /**
   * Send a chain, group or chord: its first jobs are durable when this resolves; the rest
   * are created as it advances. A backend that cannot keep workflows durable refuses with
   * NOT_SUPPORTED.
   */
  sendWorkflow(workflow: Workflow, options?: WorkflowSendOptions): Promise<WorkflowHandle>;
  /** Drop a finished job and its result now rather than after resultTtl; false if unknown or not finished. */
  forget(id: string): Promise<boolean>;
  /** The job's result once it finished; rejects as `JobHandle.result()` documents. */
  result(id: string, timeoutMs?: number): Promise<unknown>;
  /**
   * Finish opening: read the rest of what is on record and begin taking work handed in
   * by other processes. `startEarly` (the app's start()): the app wants jobs run as soon
   * as possible; the backend calls it once it may, which can be while it still reads.
   * Rejects with the backend's failure if it failed meanwhile.
   */
  load(options?: { startEarly?: () => Promise<void> }): Promise<void>;
  /** Begin running due jobs on the pool (the app has started the pool). */
  start(): Promise<void>;
  /** Resolves once nothing this process holds is due, queued or running. */
  idle(): Promise<void>;
  /** Stop taking work, let running jobs finish until `deadline()` (epoch ms), give back the rest, release. */
  close(deadline: () => number): Promise<void>;
  /**
   * Small durable values by key (a periodic schedule's last slot): written before the
   * promise resolves, read back after a restart.
   */
  readMark(key: string): Promise<string | undefined>;
  writeMark(key: string, value: string): Promise<void>;
}
