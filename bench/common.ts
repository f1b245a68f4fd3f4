// Helpers for the child processes: argument parsing, the JSON lines they print, timing,
// percentiles, the single-job time and the event-loop monitor.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { cpuWork, makePayload, METRICS, type ChildParams, type Payload, type SystemName, type Workload } from './params.js';

export interface ChildContext {
  system: SystemName;
  workload: Workload;
  params: ChildParams;
  /** Print one measurement as a JSON line on stdout. */
  emit(metric: string, value: number, extra?: Record<string, unknown>): void;
  /** Say that this workload (or one of its metrics) does not apply to this system: shown as n/a with the reason. */
  na(reason: string, metric?: string): void;
}

export type Handler = (ctx: ChildContext) => Promise<void>;

/**
 * The body of every child: `node --import tsx bench/<system>.ts <workload> <json-params>`.
 * Runs the handler for the workload, prints one JSON line per measurement, and exits
 * 0, or 1 with the error on stderr.
 */
export function runChild(system: SystemName, handlers: Partial<Record<Workload, Handler>>): void {
  const [workload, json] = process.argv.slice(2) as [Workload, string];
  const fail = (err: unknown) => {
    process.stderr.write(`${system} ${workload}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  };
  process.on('unhandledRejection', fail);
  const handler = handlers[workload];
  if (!handler || !json) fail(new Error(`usage: ${system}.ts <${Object.keys(handlers).join('|')}> <json-params>`));
  const params = JSON.parse(json) as ChildParams;
  const known = METRICS[workload];
  const ctx: ChildContext = {
    system,
    workload,
    params,
    emit(metric, value, extra) {
      if (!known || !(metric in known)) throw new Error(`unknown metric ${workload}.${metric}: add it to METRICS in params.ts`);
      if (!Number.isFinite(value)) throw new Error(`${workload}.${metric} is not a finite number: ${value}`);
      process.stdout.write(`${JSON.stringify({ bench: 'metric', system, workload, metric, value, ...extra })}\n`);
    },
    na(reason, metric) {
      process.stdout.write(`${JSON.stringify({ bench: 'na', system, workload, ...(metric ? { metric } : {}), reason })}\n`);
    },
  };
  handler!(ctx).then(() => process.exit(0), fail);
}

export const now = (): number => performance.now();

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) throw new Error('percentile of nothing');
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

export function median(values: number[]): number {
  return percentile(
    [...values].sort((a, b) => a - b),
    50,
  );
}

/** Latencies → p50/p95/p99 (nearest rank), printed as W2's metrics. */
export function emitLatencies(ctx: ChildContext, latencies: number[]): void {
  const sorted = [...latencies].sort((a, b) => a - b);
  ctx.emit('p50_ms', percentile(sorted, 50));
  ctx.emit('p95_ms', percentile(sorted, 95));
  ctx.emit('p99_ms', percentile(sorted, 99));
}

/** W2: `one` job at a time, w2Warmup untimed, then w2N timed from send to result; emits the percentiles. */
export async function measureLatencies(ctx: ChildContext, one: (p: Payload) => Promise<void>): Promise<void> {
  const { w2Warmup, w2N } = ctx.params.sizes;
  for (let i = 0; i < w2Warmup; i++) await one(makePayload(i));
  const latencies: number[] = [];
  for (let i = 0; i < w2N; i++) {
    const p = makePayload(w2Warmup + i);
    const t = now();
    await one(p);
    latencies.push(now() - t);
  }
  emitLatencies(ctx, latencies);
}

/** The CPU job's time on this thread: 20 warm-ups, then the median of `samples` runs. */
export function singleJobMs(samples: number): number {
  for (let i = 0; i < 20; i++) cpuWork();
  const times: number[] = [];
  for (let i = 0; i < samples; i++) {
    const t = now();
    cpuWork();
    times.push(now() - t);
  }
  return median(times);
}

/** W3's measurement around `run` (first send → last completion): wall, efficiency, event-loop p99. */
const ELD_RESOLUTION_MS = 10;

export async function measureCpu(ctx: ChildContext, run: () => Promise<void>): Promise<void> {
  const { w3N, singleJobSamples } = ctx.params.sizes;
  const single = singleJobMs(singleJobSamples);
  const eld = monitorEventLoopDelay({ resolution: ELD_RESOLUTION_MS });
  eld.enable();
  const t0 = now();
  await run();
  const wall = now() - t0;
  eld.disable();
  ctx.emit('wall_ms', wall);
  ctx.emit('single_job_ms', single);
  ctx.emit('efficiency', (w3N * single) / (wall * ctx.params.concurrency));
  // The histogram holds the whole interval between two of its timer's ticks, so an idle
  // loop reads ≈ the resolution (measured: p50 10.2 ms at resolution 10): the delay is
  // what lies beyond it.
  ctx.emit('eld_p99_ms', Math.max(0, eld.percentile(99) / 1e6 - ELD_RESOLUTION_MS));
}

/** Sum of the sizes of the files under dir. */
export function dirBytes(dir: string): number {
  let total = 0;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = statSync(p);
    total += st.isDirectory() ? dirBytes(p) : st.size;
  }
  return total;
}

/** Check that every job returned its payload's id (a cheap guard against a broken run). */
export function checkIds(results: unknown[], from = 0): void {
  for (let i = 0; i < results.length; i++) {
    if (results[i] !== from + i) throw new Error(`job ${from + i} returned ${JSON.stringify(results[i])}, expected ${from + i}`);
  }
}

/**
 * Completion signals that may arrive before the sender knows the job's id: wait(id)
 * resolves at once if the signal already came.
 */
export class Completions {
  private readonly done = new Set<string>();
  private readonly waiting = new Map<string, () => void>();
  count = 0;
  private target = Infinity;
  private onTarget: (() => void) | undefined;

  signal(id: string): void {
    this.count++;
    const w = this.waiting.get(id);
    if (w) {
      this.waiting.delete(id);
      w();
    } else if (this.target === Infinity) this.done.add(id);
    if (this.count >= this.target && this.onTarget) {
      const f = this.onTarget;
      this.onTarget = undefined;
      f();
    }
  }

  wait(id: string): Promise<void> {
    if (this.done.delete(id)) return Promise.resolve();
    return new Promise((resolve) => this.waiting.set(id, resolve));
  }

  /** Resolves once `n` signals in all have come (ids are not kept meanwhile). */
  waitForCount(n: number): Promise<void> {
    this.done.clear();
    this.target = n;
    if (this.count >= n) return Promise.resolve();
    return new Promise((resolve) => (this.onTarget = resolve));
  }

  reset(): void {
    this.count = 0;
    this.target = Infinity;
    this.onTarget = undefined;
    this.done.clear();
  }
}

/** Run `fn(i)` for i in [0, n) with at most `inFlight` calls outstanding. */
export async function withInFlight(n: number, inFlight: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < n) await fn(next++);
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, n) }, lane));
}

export function chunks<T>(n: number, size: number, make: (i: number) => T): T[][] {
  const out: T[][] = [];
  for (let start = 0; start < n; start += size) {
    const chunk: T[] = [];
    for (let i = start; i < Math.min(n, start + size); i++) chunk.push(make(i));
    out.push(chunk);
  }
  return out;
}

/**
 * Start-up: runs `node <script> ...args` (this node, no loader: as a user's plain
 * process) `runs` times, each printing {"ms": process start → first result}, and
 * returns the median.
 */
export function startupMedianMs(runs: number, script: string, args: (run: number) => string[]): number {
  const times: number[] = [];
  for (let run = 0; run < runs; run++) {
    const r = spawnSync(process.execPath, [script, ...args(run)], { encoding: 'utf8', timeout: 60_000 });
    if (r.status !== 0) throw new Error(`${script} exited ${r.status ?? r.signal}: ${r.stderr.trim().split('\n').slice(0, 5).join(' | ')}`);
    const line = r.stdout.trim().split('\n').pop() ?? '';
    const ms = (JSON.parse(line) as { ms: number }).ms;
    if (!(ms > 0)) throw new Error(`${script} printed ${JSON.stringify(line)}`);
    times.push(ms);
  }
  return median(times);
}
