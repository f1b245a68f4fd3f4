// Deciding what a failed run means: retry (when, with which args) or fail — and
// describing a module that would not import. Runs in the worker, where the task's
// options (with their Error classes and predicates) live.
import { serializeError, type SerializedError } from '../../errors.js';
import { isRetryRequest, type ErrorMatcher, type TaskDefinition } from '../../task.js';
import { jsonProblem } from '../../validate.js';
import type { WireJob } from '../protocol.js';
import type { ModuleProblem } from '../../registry/types.js';
import { lazyPackage } from '../../lazy-package.js';

/** Only a module that fails to parse needs it: off every thread's path to its first job. */
const childProcess = lazyPackage<typeof import('node:child_process')>('node:child_process');

export type RetryDecision =
  | { retry: true; runAt: number; error: SerializedError; args?: string }
  | { retry: false; error: SerializedError };

export function retryDecision(job: WireJob, def: TaskDefinition, err: unknown, now: number, random: () => number): RetryDecision {
  const opts = def.options;
  if (isRetryRequest(err)) {
    const cause = err.exc === undefined ? err : err.exc;
    const error = serializeError(cause);
    const max = err.maxRetries ?? job.maxRetries ?? opts.maxRetries;
    if (job.retries >= max) return { retry: false, error: exhausted(error, job, max) };
    let args: string | undefined;
    if (err.args !== undefined) {
      const problem = jsonProblem(err.args, 'retry args');
      if (problem) return { retry: false, error: { name: 'InvalidRetryArgs', message: `${job.task}.retry(): ${problem}` } };
      args = JSON.stringify(err.args);
    }
    const runAt = err.etaMs ?? now + (err.countdownMs ?? job.retryDelayMs ?? opts.retryDelayMs);
    return args === undefined ? { retry: true, runAt, error } : { retry: true, runAt, error, args };
  }
  const error = serializeError(err);
  if (!opts.autoretryFor.some((m) => matches(m, err))) return { retry: false, error };
  const max = job.maxRetries ?? opts.maxRetries;
  if (job.retries >= max) return { retry: false, error: exhausted(error, job, max) };
  return { retry: true, runAt: now + backoffMs(job, def, random), error };
}

/** Celery's exponential backoff: factor · 2^retries, capped, then full jitter. */
export function backoffMs(job: WireJob, def: TaskDefinition, random: () => number): number {
  const { backoffFactorMs, backoffMaxMs, jitter } = def.options;
  if (backoffFactorMs === 0) return job.retryDelayMs ?? def.options.retryDelayMs;
  const countdown = Math.min(backoffMaxMs, backoffFactorMs * 2 ** job.retries);
  return jitter ? Math.floor(random() * (countdown + 1)) : countdown;
}

function exhausted(error: SerializedError, job: WireJob, max: number): SerializedError {
  return {
    ...error,
    message: `${error.message} (gave up after ${job.retries} ${job.retries === 1 ? 'retry' : 'retries'}; maxRetries is ${max})`,
  };
}

function matches(m: ErrorMatcher, err: unknown): boolean {
  // Reading a thrown value can throw (getters, Proxy traps): such a value matches nothing.
  try {
    if (typeof m === 'string') {
      const e = err as { name?: unknown; code?: unknown } | null;
      return e != null && (e.name === m || e.code === m);
    }
    if (m.prototype instanceof Error || m === Error) return err instanceof (m as abstract new () => Error);
    return (m as (e: unknown) => boolean)(err) === true;
  } catch {
    return false;
  }
}

/** A module that failed to import, with the file:line of the fault when the error tells it. */
export function importProblem(file: string, err: unknown): ModuleProblem {
  const e = err instanceof Error ? err : new Error(String(err));
  const text = `${e.message}\n${e.stack ?? ''}`;
  const escaped = file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const inFile = new RegExp(`(?:file://)?${escaped}(?:\\?[^:\\s)]*)?:(\\d+)(?::(\\d+))?`);
  let here = inFile.exec(text);
  let detail = e.message.split('\n')[0]!;
  // esbuild (tsx) puts the real error on a later line: "/path/x.ts:5:11: ERROR: Unexpected ...".
  const esbuildLine = e.message.split('\n').find((l) => inFile.test(l) && /ERROR:/.test(l));
  if (esbuildLine) detail = esbuildLine.slice(esbuildLine.indexOf('ERROR:') + 7).trim();
  // Node reports an ESM SyntaxError without its location: ask the parser once more, by file.
  if (!here && e.name === 'SyntaxError' && /\.[cm]?js$/.test(file)) {
    const check = childProcess().spawnSync(process.execPath, ['--check', file], { encoding: 'utf8', timeout: 10_000 });
    here = inFile.exec(check.stderr ?? '');
  }
  // The first frame in a real file (not node:internal/...): where a dependency raised.
  const anyFrame = /(?:\(|\s)((?:file:\/\/)?\/[^():\s]+):(\d+):(\d+)\)?/.exec(e.stack ?? '');
  const where = here
    ? `${file}:${here[1]}${here[2] ? `:${here[2]}` : ''}`
    : anyFrame
      ? `${file} (raised at ${anyFrame[1]!.replace(/^file:\/\//, '')}:${anyFrame[2]})`
      : file;
  return { kind: 'import', file, message: `task module ${where} failed to import: ${e.name}: ${detail}` };
}
