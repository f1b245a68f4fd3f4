// Hot reload swaps whole generations: a complete new set of workers loads the modules;
// once every one of them has loaded them cleanly they take all new jobs, and the old ones
// give back what they have not begun and stop when their running jobs finish.
import { statSync } from 'node:fs';
import type { ModuleProblem } from '../registry/types.js';
import type { HostMessage, Outcome } from './protocol.js';
import { type PoolWorker, requeued, type WorkerReady } from './pool-worker.js';

export type ReloadResult =
  | ({ ok: true } & WorkerReady)
  /** The new generation was discarded: `problems` (import, duplicate, plugin) or `error` (a worker failed to start) says why. */
  | { ok: false; problems: ModuleProblem[]; error?: string };

/** How long a new generation may take to import its modules before the reload is given up. */
const RELOAD_READY_TIMEOUT_MS = 30_000;

/** Up to `count` live spares that can load these modules (only one with tsx registered can load TypeScript, if it must). */
export function usableSpares(workers: readonly PoolWorker[], count: number, tsx: boolean): PoolWorker[] {
  return workers.filter((w) => w.state === 'spare' && !w.exited && (w.tsx || !tsx)).slice(0, count);
}

/**
 * Wait for a new generation to load its modules. It may take over when every worker is
 * ready and alive and no module has a problem (one without tasks is only a warning);
 * otherwise its workers are terminated and the result says why. `takeOver` runs in the
 * same turn as the verdict, so that nothing (a close, a batch of jobs) comes in between.
 */
export async function awaitGeneration(spawned: PoolWorker[], closing: () => boolean, takeOver: () => void): Promise<ReloadResult> {
  const discard = () => {
    for (const w of spawned) {
      w.state = 'retired';
      if (!w.exited) void w.thread.terminate();
    }
  };
  let timer: NodeJS.Timeout | undefined;
  let ready: WorkerReady[];
  try {
    ready = await Promise.race([
      Promise.all(spawned.map((w) => w.ready)),
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
  const lost = spawned.some((w) => w.exited);
  // A module with no tasks is only a warning — unless its file is empty right now: an
  // editor caught mid-save (truncate, then write). Swapping in would fail every queued
  // job of its tasks; keep the old code, the write that follows triggers another reload.
  const midSave = first.problems.filter((p) => p.kind === 'empty' && fileIsEmpty(p.file));
  if (midSave.length > 0 && !closing() && !lost) {
    discard();
    return { ok: false, problems: [], error: `${midSave.map((p) => p.file).join(', ')} was empty (caught in the middle of a save)` };
  }
  if (closing() || lost || first.problems.some((p) => p.kind !== 'empty')) {
    discard();
    if (closing()) return { ok: false, problems: [], error: 'the pool is closing' };
    return lost
      ? { ok: false, problems: first.problems, error: 'a worker of the new generation exited right after loading' }
      : { ok: false, problems: first.problems };
  }
  takeOver();
  return { ok: true, ...first };
}

/** Take no more jobs; give back those not begun (to `settle`); stop once the running ones are done. */
export function retire(worker: PoolWorker, settle: (outcomes: Outcome[]) => void): void {
  worker.state = 'retired';
  // Also catches a batch that run() queued for this worker in this very turn: the
  // worker bounces it back as drained once it has seen the drain.
  worker.onDrained = (seqs) => settle(requeued(seqs));
  if (!worker.exited) worker.thread.postMessage({ t: 'drain' } satisfies HostMessage);
  stopIfRetired(worker);
}

/** A retired worker stops once its last job is done. */
export function stopIfRetired(worker: PoolWorker): void {
  if (worker.state === 'retired' && worker.inFlight.size === 0 && !worker.exited) void worker.thread.terminate();
}

function fileIsEmpty(file: string): boolean {
  try {
    return statSync(file).size === 0;
  } catch {
    return false;
  }
}
