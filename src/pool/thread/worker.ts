// The worker thread: imports the task modules, then runs jobs the host hands it.
// Also used once in "discover" mode to tell the host which tasks exist, so that the
// host thread never imports task code itself.
import module from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parentPort, threadId, workerData as rawWorkerData } from 'node:worker_threads';
import { contextStorage, type TaskContext } from '../../context.js';
import { CeleriacError, serializeError, type SerializedError } from '../../errors.js';
import { isRetryRequest, type TaskDefinition } from '../../task.js';
import { jsonProblem } from '../../validate.js';
import { progressJson } from '../../progress.js';
import { loadTasks } from './load-modules.js';
import { scheduleContext } from '../../schedule/context.js';
import { retryDecision } from './outcome.js';
import { packOutcomes, unpackJobs } from '../columns.js';
import { slotViews, type HostMessage, type Outcome, type WireJob, type WorkerData, type WorkerMessage } from '../protocol.js';
import type { PluginRef } from '../../registry/types.js';

const data = rawWorkerData as WorkerData;
/** How often a worker posts the latest progress of its running jobs. */
const PROGRESS_EVERY_MS = 100;
/**
 * Outcomes wait for the end of the thread's turn, so that a run of short jobs shares one
 * message (a job that ends with nothing else running or queued here posts at once); but
 * queued jobs run back to back in one turn. Once the oldest waiting outcome's job began
 * this long ago, or when the next job is not known to be shorter than this, the outcomes
 * leave before the next job begins: the host learns of them (and sends more jobs) while
 * this thread works on.
 */
const HOLD_OUTCOMES_MS = 1;
/** Weight of the newest run in a task's run-time average (as the host's dispatcher keeps it). */
const RUN_TIME_WEIGHT = 0.2;
const port = parentPort!;
const post = (msg: WorkerMessage) => port.postMessage(msg);

// A spare worker has paid for its start (thread, tsx, this module's imports) ahead of
// time: hot reload hands it the modules to load when a file changes.
const source = data.mode === 'spare' ? await loadRequest() : data;
const { registry, manifest, schedules, problems, modules } = await loadTasks(source.modules, source.plugins);
post({ t: 'ready', tasks: manifest, schedules, problems, modules });
// Write what this thread compiled to the compile cache (spawn.ts enables it) once the host
// knows it is ready, not at the thread's exit, which termination may skip.
(module as { flushCompileCache?: () => void }).flushCompileCache?.();

if (data.mode !== 'discover') startRunner();

async function loadRequest(): Promise<{ modules: string[]; plugins: PluginRef[] }> {
  const request = new Promise<{ modules: string[]; plugins: PluginRef[] }>((resolve) => {
    const onMessage = (msg: HostMessage) => {
      if (msg.t !== 'load') return;
      port.off('message', onMessage);
      resolve(msg);
    };
    port.on('message', onMessage);
  });
  // Task modules import celeriac's public entry (`from 'celeriac'`), which is most of
  // what they load: import it now, so that a reload only costs the task code itself.
  await import(new URL(`../../index${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url).href);
  await import('../../builtin/test-task.js');
  if (data.modules.some((m) => /\.[cm]?tsx?$/.test(m))) await warmTypeScript();
  return request;
}

/**
 * tsx compiles a changed module with esbuild, whose service starts on the first file
 * not in tsx's cache (~40 ms). Start it now by importing a throwaway module that no
 * cache can hold, so that a reload pays only for compiling the edited file.
 */
async function warmTypeScript(): Promise<void> {
  const [{ unlink, writeFile }, { tmpdir }] = await Promise.all([import('node:fs/promises'), import('node:os')]);
  const file = join(tmpdir(), `celeriac-warm-${process.pid}-${threadId}-${Date.now()}.mts`);
  try {
    await writeFile(file, `export const warm: number = ${Math.random()};\n`);
    await import(pathToFileURL(file).href);
  } catch {
    // Only an optimisation.
  } finally {
    await unlink(file).catch(() => undefined);
  }
}

function startRunner(): void {
  const { running, deadline, began, culprit, taken } = slotViews(data.slotTable, data.concurrency);
  // With several jobs running in this thread, the host must know which one took the
  // thread down, or it would fail the innocent ones with it. process.exit() and an
  // uncaught exception (a throw in a timer, an unhandled rejection) still run inside
  // the guilty job's async context: name its seq in the shared table before dying.
  const seqOf = new WeakMap<TaskContext, number>();
  const blame = () => {
    const ctx = contextStorage.getStore();
    const seq = ctx && seqOf.get(ctx);
    if (seq) Atomics.store(culprit, 0, seq);
  };
  process.on('uncaughtExceptionMonitor', blame);
  const exit = process.exit.bind(process);
  process.exit = ((code?: number | string | null) => {
    blame();
    return exit(code);
  }) as typeof process.exit;
  const freeSlots = Array.from({ length: data.concurrency }, (_, i) => data.concurrency - 1 - i);
  const queue: WireJob[] = [];
  const runs = new Map<number, RunAbort>();
  let outbox: Outcome[] = [];
  /** When the job of the outbox's first outcome began (performance.now()). */
  let outboxSince = 0;
  /** Average run time per task (ms) of the jobs this thread ran, updated in place. */
  const runMs = new Map<string, { avg: number }>();
  /**
   * Whether the waiting outcomes leave before `next` begins: once the first of them began
   * HOLD_OUTCOMES_MS ago, and always before a job not known to be shorter than that (a
   * task not yet run here counts as long), so that no result waits behind a long job.
   */
  const postBefore = (next: WireJob): boolean =>
    performance.now() - outboxSince >= HOLD_OUTCOMES_MS || (runMs.get(next.task)?.avg ?? Number.POSITIVE_INFINITY) >= HOLD_OUTCOMES_MS;
  let flushScheduled = false;
  let draining = false;
  // Progress is coalesced: only each job's latest value waits here, and leaves at most
  // once per PROGRESS_EVERY_MS (or just ahead of the job's outcome).
  const progress = new Map<number, string>();
  let progressTimer: NodeJS.Timeout | undefined;
  const flushProgress = () => {
    clearTimeout(progressTimer);
    progressTimer = undefined;
    if (progress.size === 0) return;
    const updates = [...progress].map(([seq, value]) => ({ seq, value }));
    progress.clear();
    post({ t: 'progress', updates });
  };
  const reportProgress = (seq: number, task: string, value: unknown) => {
    progress.set(seq, progressJson(value, task));
    progressTimer ??= setTimeout(flushProgress, PROGRESS_EVERY_MS);
  };

  const flush = () => {
    flushProgress();
    if (outbox.length === 0) return;
    const outcomes = outbox;
    outbox = [];
    post({ t: 'done', outcomes: packOutcomes(outcomes) });
  };
  const emit = (o: Outcome, begun: number) => {
    if (outbox.push(o) === 1) outboxSince = begun;
    if (!flushScheduled) {
      flushScheduled = true;
      setImmediate(() => {
        flushScheduled = false;
        flush();
      });
    }
  };

  // A recovered job may be one that took a worker down. It runs apart: it begins once
  // the jobs running here are done and their outcomes posted, nothing else begins while
  // it runs, and its outcome is posted as soon as it ends. If it takes this thread down
  // by a way that names no job, it is then the only job that had begun, the only one
  // blamed. Jobs begin in queue order (the host counts what has begun by `taken`), so the
  // jobs behind a recovered one wait too.
  let apart = false;
  const pump = () => {
    while (queue.length > 0 && freeSlots.length > 0 && !apart) {
      const job = queue[0]!;
      if (job.recovered) {
        if (runs.size > 0) return;
        apart = true;
        flush();
      }
      if (outbox.length > 0 && postBefore(job)) flush();
      queue.shift();
      Atomics.add(taken, 0, 1);
      void execute(job, freeSlots.pop()!);
    }
  };

  async function execute(job: WireJob, slot: number): Promise<void> {
    const def = registry.get(job.task);
    const abort = new RunAbort();
    runs.set(job.seq, abort);
    const timeoutMs = def?.options.timeoutMs ?? 0;
    // The deadline first, then the seq: the host reads seq and trusts the deadline beside it.
    const now = Date.now();
    deadline[slot] = timeoutMs > 0 ? now + timeoutMs + data.timeoutGraceMs : 0;
    began[slot] = now;
    Atomics.store(running, slot, job.seq);
    let timer: NodeJS.Timeout | undefined;
    let timedOut = false;
    if (timeoutMs > 0) {
      timer = setTimeout(() => {
        timedOut = true;
        abort.abort(timeoutError(job.task, timeoutMs));
      }, timeoutMs);
    }
    let outcome: Outcome;
    let begunAt: number | undefined;
    const t0 = performance.now();
    try {
      if (!def) throw new Error(`task "${job.task}" is not registered in this worker (was its module removed?)`);
      const ctx: TaskContext = {
        id: job.id,
        task: job.task,
        attempt: job.attempt,
        retries: job.retries,
        recovered: job.recovered,
        schedule: scheduleContext(job),
        get signal() {
          return abort.signal;
        },
        progress(value) {
          if (!runs.has(job.seq))
            throw new CeleriacError(
              'INVALID_PROGRESS',
              `${job.task}: context().progress() was called after the job ended: report progress while it runs`,
            );
          reportProgress(job.seq, job.task, value);
        },
      };
      seqOf.set(ctx, job.seq);
      const args = JSON.parse(job.args) as unknown[];
      const value = await contextStorage.run(ctx, () => {
        begunAt = Date.now();
        return def.fn(...args);
      });
      outcome = timedOut ? failure(job, def, timeoutError(job.task, timeoutMs)) : success(job, value);
    } catch (err) {
      outcome = failure(job, def, timedOut && !isRetryRequest(err) ? timeoutError(job.task, timeoutMs) : err);
    } finally {
      clearTimeout(timer);
      runs.delete(job.seq);
      Atomics.store(running, slot, 0);
      deadline[slot] = 0;
      freeSlots.push(slot);
    }
    outcome.runMs = performance.now() - t0;
    if (begunAt !== undefined) outcome.begunAt = begunAt;
    const known = runMs.get(job.task);
    if (known) known.avg += RUN_TIME_WEIGHT * (outcome.runMs - known.avg);
    else runMs.set(job.task, { avg: outcome.runMs });
    emit(outcome, t0);
    if (job.recovered) {
      flush();
      apart = false;
    }
    pump();
    // Nothing left running or queued here: the outcomes leave now, not at the end of the
    // turn, so that a lone job's round trip waits for no setImmediate (nor for callbacks
    // the task left behind). A run message drained later in the same turn gets its own reply.
    if (runs.size === 0 && queue.length === 0) flush();
  }

  function success(job: WireJob, value: unknown): Outcome {
    if (value === undefined) return { seq: job.seq, kind: 'succeeded' };
    const problem = jsonProblem(value, 'the return value');
    if (problem)
      return {
        seq: job.seq,
        kind: 'failed',
        error: { name: 'ResultNotSerializable', message: `${job.task}: ${problem} (results are stored as JSON)` },
      };
    const result = JSON.stringify(value);
    if (result.length > data.maxResultBytes) {
      return {
        seq: job.seq,
        kind: 'failed',
        error: {
          name: 'ResultTooLarge',
          message: `${job.task}: the return value is ${result.length} bytes of JSON, over the limit of ${data.maxResultBytes} (maxResultBytes): store large data elsewhere and return a reference`,
        },
      };
    }
    return { seq: job.seq, kind: 'succeeded', result };
  }

  function failure(job: WireJob, def: TaskDefinition | undefined, err: unknown): Outcome {
    if (!def) return { seq: job.seq, kind: 'failed', error: serializeError(err) };
    let decision: ReturnType<typeof retryDecision>;
    try {
      decision = retryDecision(job, def, err, Date.now(), Math.random);
    } catch {
      // Reading what was thrown threw again: fail this job only, never the thread.
      return { seq: job.seq, kind: 'failed', error: serializeError(err) };
    }
    if (decision.retry) {
      const o: Outcome = { seq: job.seq, kind: 'retry', error: decision.error, runAt: decision.runAt };
      if (decision.args !== undefined) o.args = decision.args;
      return o;
    }
    return { seq: job.seq, kind: 'failed', error: decision.error };
  }

  port.on('message', (msg: HostMessage) => {
    switch (msg.t) {
      case 'run': {
        const jobs = unpackJobs(msg.jobs);
        if (draining) {
          Atomics.add(taken, 0, jobs.length);
          post({ t: 'drained', seqs: jobs.map((j) => j.seq) });
          return;
        }
        for (const job of jobs) queue.push(job);
        pump();
        return;
      }
      case 'abort': {
        const queued = queue.findIndex((j) => j.seq === msg.seq);
        if (queued !== -1) {
          queue.splice(queued, 1);
          Atomics.add(taken, 0, 1); // out of order: the host may take one unbegun job for begun, never the reverse
          emit(
            { seq: msg.seq, kind: 'failed', error: { name: 'AbortError', message: `aborted before it began (${msg.reason})` } },
            performance.now(),
          );
        } else
          runs
            .get(msg.seq)
            ?.abort(new DOMException(`the job was ${msg.reason === 'cancelled' ? 'cancelled' : 'aborted by a shutdown'}`, 'AbortError'));
        return;
      }
      case 'drain': {
        draining = true;
        const seqs = queue.splice(0).map((j) => j.seq);
        Atomics.add(taken, 0, seqs.length);
        post({ t: 'drained', seqs });
        return;
      }
      case 'giveBack': {
        const seqs = queue.splice(0).map((j) => j.seq);
        Atomics.add(taken, 0, seqs.length);
        post({ t: 'givenBack', seqs });
        return;
      }
    }
  });
}

/**
 * A job's AbortSignal, made only when the task asks for it (context().signal): an
 * AbortController per job was as much of a worker's time as running a no-op job.
 * An abort that comes first is kept and applied when the signal is made.
 */
class RunAbort {
  private controller: AbortController | undefined;
  private reason: unknown;
  private aborted = false;

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.aborted) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.controller?.abort(reason);
  }
}

function timeoutError(task: string, timeoutMs: number): SerializedError & Error {
  const err = new Error(`${task} exceeded its timeout of ${timeoutMs / 1000} s`) as Error & SerializedError;
  err.name = 'TimeoutError';
  return err;
}
