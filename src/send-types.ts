import type { SerializedError } from './errors.js';
import type { JobState } from './jobs.js';

export interface SendOptions {
  /**
   * The job id (Celery's task_id). Sending a known id again returns the existing job.
   * @default a random UUID
   */
  id?: string;
  /**
   * Run no sooner than this long from now: seconds, or a string such as "500ms" or "5m".
   * @default none (run now)
   */
  countdown?: number | string;
  /**
   * Run no sooner than this time (Date, ISO-8601 string or epoch ms).
   * @default none (run now)
   */
  eta?: Date | string | number;
  /**
   * Expire instead of run if not started by then: a Date or ISO string, or how long from now (seconds, or "1h").
   * @default the task's `expires`, else never
   */
  expires?: Date | string | number;
  /**
   * Higher runs first.
   * @default the task's `priority` (0 unless it sets one)
   */
  priority?: number;
  /**
   * Override the task's retry limit for this job.
   * @default the task's `maxRetries`
   */
  maxRetries?: number;
  /**
   * Override the task's default retry countdown for this job (seconds or "3m").
   * @default the task's `retryDelay`
   */
  retryDelay?: number | string;
  /**
   * The queue this job goes to.
   * @default the task's `queue`, else 'default'
   */
  queue?: string;
}

/**
 * One job of a sendMany: its argument list, or `{ args, ...options }` to give this job
 * options of its own (an `id`, a countdown…) over the options shared by the call.
 */
export type SendManyItem<Args extends unknown[] = unknown[]> = Args | (SendOptions & { args: Args });

export const SEND_OPTION_KEYS = ['id', 'countdown', 'eta', 'expires', 'priority', 'maxRetries', 'retryDelay', 'queue'] as const;

export interface ResultOptions {
  /**
   * Give up waiting after this long, rejecting with RESULT_TIMEOUT (the job itself goes on):
   * seconds, or a string such as "500ms" or "5m", at most 24.8 days.
   * @default none (wait as long as it takes)
   */
  timeout?: number | string;
}

export interface JobHandle<Result = unknown> {
  readonly id: string;
  /** False when a job with this id already existed and this send changed nothing. */
  readonly created: boolean;
  /** The task's return value once it succeeds; rejects with TaskFailedError, or when cancelled or expired. */
  result(options?: ResultOptions): Promise<Result>;
  /** The job's current state (undefined once dropped after the result retention time). */
  info(): Promise<JobInfo | undefined>;
  /**
   * Set only on a client's handle when no worker was reachable: the inbox file that holds
   * the job until a worker takes it. Unset when the job went straight to its owner.
   */
  readonly inboxFile?: string;
}

export interface JobInfo {
  id: string;
  task: string;
  args: unknown[];
  state: JobState;
  attempts: number;
  retries: number;
  priority: number;
  /** The queue the job belongs to ("default" unless routed elsewhere). */
  queue: string;
  recovered: boolean;
  createdAt: Date;
  /** When the job may run (eta, countdown, or a retry's countdown). */
  runAt?: Date;
  expiresAt?: Date;
  startedAt?: Date;
  finishedAt?: Date;
  result?: unknown;
  error?: SerializedError;
  /** The latest value the task reported with context().progress() (kept once it finished). */
  progress?: unknown;
}
