// Every parameter of the bench, in one module: sizes (full and quick), the payload, the
// CPU job, the systems and which workloads each runs, and the metrics with their units.
// The definitions follow bench/workloads.md. Worker threads import this module
// too (the CPU job), so it imports nothing heavy.
import { availableParallelism } from 'node:os';

/** Concurrency for every system: the number of cores (2 slots or 2 worker threads). */
export const CONCURRENCY = availableParallelism();

export interface Sizes {
  /** W1: jobs in the burst. */
  w1N: number;
  /** W1: jobs per bulk call (sendMany / addBulk / addJobs / addAll). */
  bulk: number;
  /** w1-single: jobs sent one at a time, each awaited. */
  w1SingleN: number;
  /** w1-concurrent: jobs sent one by one with `inFlight` sends outstanding. */
  w1ConcurrentN: number;
  inFlight: number;
  /** W2: warm-up jobs, then measured jobs, strictly one at a time. */
  w2Warmup: number;
  w2N: number;
  /** W3: CPU jobs. */
  w3N: number;
  /** W3: main-thread runs of the CPU job used for the single-job time (after 20 warm-ups). */
  singleJobSamples: number;
  /** W4: pending jobs in the data dir, written by sendMany in batches of w4Batch. */
  w4N: number;
  w4Batch: number;
  /** startup: fresh processes per child (each measures process start → first result); the child reports their median. */
  startupRuns: number;
  limits: {
    /** fsync'd appends, one record per fsync. */
    fsyncOneRecords: number;
    /** group commit: records per write+fdatasync → number of syncs. */
    groups: Array<{ perSync: number; syncs: number }>;
    /** postMessage round trips per worker, for each in-flight depth. */
    roundTrips: Array<{ inFlight: number; perWorker: number }>;
    /** p-queue (concurrency = cores) add()+run of this many no-op async functions. */
    pqueueN: number;
  };
}

export const FULL: Sizes = {
  w1N: 100_000,
  bulk: 1_000,
  w1SingleN: 10_000,
  w1ConcurrentN: 100_000,
  inFlight: 256,
  w2Warmup: 50,
  w2N: 1_000,
  w3N: 2_000,
  singleJobSamples: 200,
  w4N: 1_000_000,
  w4Batch: 10_000,
  startupRuns: 5,
  limits: {
    fsyncOneRecords: 2_000,
    groups: [
      { perSync: 10, syncs: 2_000 },
      { perSync: 100, syncs: 1_000 },
      { perSync: 1_000, syncs: 200 },
    ],
    roundTrips: [
      { inFlight: 1, perWorker: 25_000 },
      { inFlight: 16, perWorker: 100_000 },
      { inFlight: 256, perWorker: 100_000 },
    ],
    pqueueN: 1_000_000,
  },
};

/** bench:quick: a smoke test (CI). Asserts the bench works, never a time. */
export const QUICK: Sizes = {
  w1N: 2_000,
  bulk: 1_000,
  w1SingleN: 200,
  w1ConcurrentN: 2_000,
  inFlight: 256,
  w2Warmup: 5,
  w2N: 50,
  w3N: 50,
  singleJobSamples: 20,
  w4N: 20_000,
  w4Batch: 10_000,
  startupRuns: 1,
  limits: {
    fsyncOneRecords: 100,
    groups: [
      { perSync: 10, syncs: 100 },
      { perSync: 100, syncs: 50 },
      { perSync: 1_000, syncs: 20 },
    ],
    roundTrips: [
      { inFlight: 1, perWorker: 1_000 },
      { inFlight: 16, perWorker: 5_000 },
      { inFlight: 256, perWorker: 5_000 },
    ],
    pqueueN: 50_000,
  },
};

export const REPETITIONS = 3;
export const QUICK_REPETITIONS = 1;
/** A child that takes longer is killed and its measurement reported as failed. */
export const CHILD_TIMEOUT_MS = 15 * 60_000;
export const QUICK_CHILD_TIMEOUT_MS = 60_000;

// --- the payload and the jobs -------------------------------------------------------

export const PAYLOAD_BYTES = 100;

export interface Payload {
  id: number;
  kind: 'noop';
  tenant: string;
  pad: string;
}

/** `{"id":i,"kind":"noop","tenant":"tenant-<i%97>","pad":"xxx…"}`, exactly 100 bytes of JSON. */
export function makePayload(i: number): Payload {
  const p: Payload = { id: i, kind: 'noop', tenant: `tenant-${i % 97}`, pad: '' };
  const missing = PAYLOAD_BYTES - Buffer.byteLength(JSON.stringify(p));
  if (missing < 0) throw new Error(`payload ${i} is longer than ${PAYLOAD_BYTES} bytes`);
  p.pad = 'x'.repeat(missing);
  return p;
}

// The jobs themselves are plain JavaScript (jobs.mjs), so that worker modules can load
// them without tsx, as their users would.
export { CPU_ROUNDS, cpuJob, cpuWork, noopJob } from './jobs.mjs';

// --- systems and workloads ------------------------------------------------------------

export const WORKLOADS = ['limits', 'startup', 'w1', 'w1-single', 'w1-concurrent', 'w2', 'w3', 'w4', 'client'] as const;
export type Workload = (typeof WORKLOADS)[number];

export type SystemName =
  | 'limits'
  | 'celeriac'
  | 'celeriac-client'
  | 'pqueue'
  | 'piscina'
  | 'bullmq'
  | 'celeriac-redis'
  | 'bullmq-postgres'
  | 'celeriac-postgres'
  | 'graphile';
export type Server = 'redis' | 'postgres';

export interface SystemSpec {
  name: SystemName;
  /** How the table names it, with its durability. */
  label: string;
  /** The child script under bench/. */
  file: string;
  needs?: Server;
  /** Each workload: true (runs), or the reason it does not apply. Missing: not run, not shown. */
  workloads: Partial<Record<Workload, true | string>>;
}

const NO_DURABLE_SEND = 'n/a (in memory: no durable send to await)';
const NO_THREADS = 'n/a (no thread pool)';

export const SYSTEMS: SystemSpec[] = [
  { name: 'limits', label: 'machine limits', file: 'limits.ts', workloads: { limits: true } },
  {
    name: 'celeriac',
    label: 'celeriac (journal, fsync)',
    file: 'celeriac.ts',
    workloads: { startup: true, w1: true, 'w1-single': true, 'w1-concurrent': true, w2: true, w3: true, w4: true },
  },
  {
    name: 'celeriac-client',
    label: 'celeriac, 2 processes (createClient → celeriac worker over its socket)',
    file: 'celeriac-client.ts',
    workloads: { 'w1-single': true, 'w1-concurrent': true, w2: true, client: true },
  },
  {
    name: 'pqueue',
    label: 'p-queue (memory)',
    file: 'pqueue.ts',
    workloads: { w1: true, 'w1-single': NO_DURABLE_SEND, w2: true, w3: 'n/a (no thread pool: runs on the event loop)' },
  },
  {
    name: 'piscina',
    label: 'Piscina (threads, memory)',
    file: 'piscina.ts',
    workloads: { startup: true, w1: true, 'w1-single': NO_DURABLE_SEND, w2: true, w3: true },
  },
  {
    name: 'bullmq',
    label: 'BullMQ (Redis AOF always)',
    file: 'bullmq.ts',
    needs: 'redis',
    workloads: { w1: true, 'w1-single': true, w2: true, w3: true },
  },
  {
    name: 'celeriac-redis',
    label: 'celeriac on BullMQ (same Redis)',
    file: 'celeriac-redis.ts',
    needs: 'redis',
    workloads: { w1: true, w2: true },
  },
  {
    name: 'bullmq-postgres',
    label: 'BullMQ on PostgreSQL 15 (createPostgresBackend)',
    file: 'bullmq-postgres.ts',
    needs: 'postgres',
    workloads: { w1: true, w2: true },
  },
  {
    name: 'celeriac-postgres',
    label: 'celeriac on BullMQ (same PostgreSQL)',
    file: 'celeriac-postgres.ts',
    needs: 'postgres',
    workloads: { w1: true, w2: true },
  },
  {
    name: 'graphile',
    label: 'graphile-worker (PostgreSQL 15)',
    file: 'graphile.ts',
    needs: 'postgres',
    workloads: { w1: true, 'w1-single': true, w2: true, w3: NO_THREADS },
  },
];

/** What bench:quick runs. */
export const QUICK_SYSTEMS: SystemName[] = ['limits', 'celeriac'];

// --- metrics --------------------------------------------------------------------------

export interface MetricSpec {
  label: string;
  unit: string;
  better: 'higher' | 'lower';
}

/** Every metric a child may print, by workload. The table shows them in this order. */
export const METRICS: Record<Workload, Record<string, MetricSpec>> = {
  limits: {
    fsync_1: { label: "fsync'd 200-byte appends, 1 per fsync", unit: 'rec/s', better: 'higher' },
    dsync_append: { label: 'O_DSYNC 200-byte writes, appending', unit: 'rec/s', better: 'higher' },
    dsync_zeroed: { label: 'O_DSYNC 200-byte writes, into zeroed space', unit: 'rec/s', better: 'higher' },
    dsync_sync_p50_ms: { label: 'one O_DSYNC 200-byte write (zeroed), writeSync, p50', unit: 'ms', better: 'lower' },
    dsync_sync_p99_ms: { label: 'one O_DSYNC 200-byte write (zeroed), writeSync, p99', unit: 'ms', better: 'lower' },
    dsync_pool_p50_ms: { label: 'one O_DSYNC 200-byte write (zeroed), fs/promises, p50', unit: 'ms', better: 'lower' },
    dsync_pool_p99_ms: { label: 'one O_DSYNC 200-byte write (zeroed), fs/promises, p99', unit: 'ms', better: 'lower' },
    dsync_pair_p50_ms: { label: "two in sequence, fs/promises, p50 (W2's floor)", unit: 'ms', better: 'lower' },
    dsync_pair_p99_ms: { label: "two in sequence, fs/promises, p99 (W2's floor)", unit: 'ms', better: 'lower' },
    group_10: { label: 'group commit 10 / write+fdatasync', unit: 'rec/s', better: 'higher' },
    group_100: { label: 'group commit 100 / write+fdatasync', unit: 'rec/s', better: 'higher' },
    group_1000: { label: 'group commit 1000 / write+fdatasync', unit: 'rec/s', better: 'higher' },
    rt_1: { label: 'postMessage round trips, 2 workers, 1 in flight', unit: 'rt/s', better: 'higher' },
    rt_16: { label: 'postMessage round trips, 2 workers, 16 in flight', unit: 'rt/s', better: 'higher' },
    rt_256: { label: 'postMessage round trips, 2 workers, 256 in flight', unit: 'rt/s', better: 'higher' },
    pqueue_noop: { label: 'p-queue add()+run of no-op async fns', unit: 'ops/s', better: 'higher' },
    w3_ceiling: { label: 'W3 efficiency of bare threads (CPU jobs only)', unit: 'ratio', better: 'higher' },
  },
  startup: {
    first_result_ms: { label: 'process start → first result, .mjs worker/task module', unit: 'ms', better: 'lower' },
    first_result_ts_ms: { label: 'process start → first result, .ts task module', unit: 'ms', better: 'lower' },
  },
  w1: {
    enqueue: { label: 'enqueue, bulk calls of 1,000, no worker', unit: 'jobs/s', better: 'higher' },
    drain: { label: 'drain: start workers → the enqueued jobs complete', unit: 'jobs/s', better: 'higher' },
    process: { label: 'processing: workers up and warm, bulk submit → all complete', unit: 'jobs/s', better: 'higher' },
  },
  'w1-single': {
    rate: { label: 'single sends, each awaited', unit: 'jobs/s', better: 'higher' },
  },
  'w1-concurrent': {
    rate: { label: 'single sends, 256 in flight', unit: 'jobs/s', better: 'higher' },
  },
  w2: {
    p50_ms: { label: 'send → completion p50', unit: 'ms', better: 'lower' },
    p95_ms: { label: 'send → completion p95', unit: 'ms', better: 'lower' },
    p99_ms: { label: 'send → completion p99', unit: 'ms', better: 'lower' },
  },
  w3: {
    wall_ms: { label: 'wall, first send → last completion', unit: 'ms', better: 'lower' },
    single_job_ms: { label: 'single CPU job (main thread, median)', unit: 'ms', better: 'lower' },
    efficiency: { label: 'efficiency = N×single / (wall×cores)', unit: '', better: 'higher' },
    eld_p99_ms: { label: 'host event-loop delay p99 (beyond the 10 ms sampling interval)', unit: 'ms', better: 'lower' },
  },
  w4: {
    prep_rate: { label: 'writing the pending jobs (sendMany)', unit: 'jobs/s', better: 'higher' },
    first_job_ms: { label: 'process start → first job running', unit: 'ms', better: 'lower' },
    open_ms: { label: 'createCeleriac({ start: true })', unit: 'ms', better: 'lower' },
    peak_rss_mb: { label: 'peak RSS', unit: 'MB', better: 'lower' },
    bytes_per_job: { label: 'journal + snapshot bytes per job', unit: 'B', better: 'lower' },
  },
  client: {
    ack_p50_ms: { label: 'client send acknowledged (durable), one at a time, p50', unit: 'ms', better: 'lower' },
    cli_started_ms: { label: '`celeriac send` process start → job started (median of 5)', unit: 'ms', better: 'lower' },
  },
};

export const WORKLOAD_TITLES: Record<Workload, string> = {
  limits: 'Limits of this machine',
  startup: 'Start-up (a fresh process, one no-op job)',
  w1: 'W1 durable burst',
  'w1-single': 'W1 single sends',
  'w1-concurrent': 'W1 concurrent sends (celeriac only)',
  w2: 'W2 latency (one job at a time)',
  w3: 'W3 CPU-bound',
  w4: 'W4 restart with pending jobs (celeriac only)',
  client: 'Two processes: client sends and the CLI (celeriac-client only)',
};

// --- what the orchestrator hands a child ---------------------------------------------

export interface ChildParams {
  quick: boolean;
  sizes: Sizes;
  concurrency: number;
  /** A fresh, empty directory for this child's data (wiped after it). */
  dataDir: string;
  rep: number;
  /** W4 runs in two processes: 'prep' writes the pending jobs, then a fresh one measures. */
  phase?: 'prep' | 'measure';
  redis?: { host: string; port: number };
  postgres?: { connectionString: string };
}
