// Listing jobs for app.list() and client.list(): the filters of `celeriac list`, newest
// first, a page at a time. A cursor names the last job of a page by its creation time
// and id, so paging stays exact while jobs are added, finished or dropped between pages.
import { CeleriacError } from './errors.js';
import { JOB_STATES, type JobRecord, type JobState } from './jobs.js';
import { jobInfo } from './job-view.js';
import { readStoredArgs, type StoredArgs } from './store/stored-args.js';
import type { JobInfo } from './send-types.js';
import { isPlainObject } from './validate.js';

export interface ListOptions {
  /** Only jobs in this state. */
  state?: JobState;
  /** Only jobs of this task (its exact name). */
  task?: string;
  /** Jobs per page. Default 50. */
  limit?: number;
  /** The `next` of the previous page: list the jobs after its last one. */
  after?: string;
}

export interface JobPage {
  /** Newest first (by creation time; jobs created in the same millisecond by id, descending). */
  jobs: JobInfo[];
  /** Pass as `after` to get the next page; absent on the last page. */
  next?: string;
}

export const DEFAULT_LIST_LIMIT = 50;
const LIST_OPTION_KEYS = ['state', 'task', 'limit', 'after'] as const;

export interface ParsedListOptions {
  state: JobState | undefined;
  task: string | undefined;
  limit: number;
  after: { createdAt: number; id: string } | undefined;
}

/** Validate list options before anything is read; a clear error names the bad one. */
export function parseListOptions(options: unknown, where: string): ParsedListOptions {
  const o = (options ?? {}) as ListOptions;
  if (!isPlainObject(o))
    throw new CeleriacError('INVALID_ARGS', `${where}: options must be a plain object such as { state: 'failed', limit: 20 }`);
  const stray = Object.keys(o).find((k) => !(LIST_OPTION_KEYS as readonly string[]).includes(k));
  if (stray !== undefined)
    throw new CeleriacError('INVALID_ARGS', `${where}: unknown option "${stray}" (known options: ${LIST_OPTION_KEYS.join(', ')})`);
  if (o.state !== undefined && !(JOB_STATES as readonly unknown[]).includes(o.state)) {
    throw new CeleriacError('INVALID_ARGS', `${where}: state must be one of ${JOB_STATES.join(', ')}; got ${JSON.stringify(o.state)}`);
  }
  if (o.task !== undefined && (typeof o.task !== 'string' || o.task === ''))
    throw new CeleriacError('INVALID_ARGS', `${where}: task must be a task name, got ${JSON.stringify(o.task)}`);
  const limit = o.limit ?? DEFAULT_LIST_LIMIT;
  if (!Number.isInteger(limit) || limit < 1)
    throw new CeleriacError('INVALID_ARGS', `${where}: limit must be an integer ≥ 1, got ${String(limit)}`);
  return { state: o.state, task: o.task, limit, after: o.after === undefined ? undefined : parseCursor(o.after, where) };
}

function cursorOf(job: Listed): string {
  return `${job.createdAt}:${job.id}`;
}

function parseCursor(text: unknown, where: string): { createdAt: number; id: string } {
  const m = typeof text === 'string' ? /^(\d{1,16}):(.+)$/s.exec(text) : null;
  if (!m)
    throw new CeleriacError(
      'INVALID_ARGS',
      `${where}: after must be the \`next\` of a page an earlier list() returned, got ${JSON.stringify(text)}`,
    );
  return { createdAt: Number(m[1]), id: m[2]! };
}

/** a comes before b in the listing (newer, or as new with the greater id). */
function before(a: { createdAt: number; id: string }, b: { createdAt: number; id: string }): boolean {
  return a.createdAt !== b.createdAt ? a.createdAt > b.createdAt : a.id > b.id;
}

/** One page of the jobs that match, every record's args in memory (a reader's: see readJobPage for the owner's). */
export function listJobs(jobs: Iterable<JobRecord>, q: ParsedListOptions): JobPage {
  const { picked, next } = pickJobs(jobs, q);
  return next === undefined ? { jobs: picked.map((j) => jobInfo(j)) } : { jobs: picked.map((j) => jobInfo(j)), next };
}

/**
 * One page of the jobs that match, finished jobs' args read from disk where the records
 * left them. `toRecord` turns what was picked into its record (the owner's job table
 * hands parked rows as what a listing compares), before anything is awaited.
 */
export async function readJobPage<T extends Listed>(
  jobs: Iterable<T>,
  q: ParsedListOptions,
  toRecord: (picked: T) => JobRecord,
): Promise<JobPage> {
  const { picked, next } = pickJobs(jobs, q);
  const records = picked.map(toRecord);
  const left = records.filter((j) => typeof j.args !== 'string');
  // A page's args are neighbours on disk: read in runs.
  const texts = await readStoredArgs(
    left.map((j) => j.args as StoredArgs),
    left.map((j) => j.id),
  );
  let k = 0;
  const infos = records.map((j) => jobInfo(j, typeof j.args === 'string' ? j.args : texts[k++]));
  return next === undefined ? { jobs: infos } : { jobs: infos, next };
}

/** What a listing picks a job by. */
interface Listed {
  readonly id: string;
  readonly createdAt: number;
  readonly task: string;
  readonly state: JobState;
}

/** The jobs of one page, in listing order, and the cursor of the next. Keeps only `limit` candidates at a time (a heap), not a sort of everything. */
function pickJobs<T extends Listed>(jobs: Iterable<T>, q: ParsedListOptions): { picked: T[]; next?: string } {
  // A min-heap by listing order: its root is the last of the newest `limit` seen so far.
  const heap: T[] = [];
  let matches = 0;
  for (const job of jobs) {
    if ((q.state !== undefined && job.state !== q.state) || (q.task !== undefined && job.task !== q.task)) continue;
    if (q.after && !before(q.after, job)) continue;
    matches++;
    if (heap.length < q.limit) heapPush(heap, job);
    else if (before(job, heap[0]!)) heapReplaceRoot(heap, job);
  }
  heap.sort((a, b) => (before(a, b) ? -1 : 1));
  return matches > q.limit ? { picked: heap, next: cursorOf(heap[heap.length - 1]!) } : { picked: heap };
}

// The heap's order is the reverse of the listing's: the root is the entry that comes last.
const later = (a: Listed, b: Listed) => before(b, a);

function heapPush<T extends Listed>(heap: T[], job: T): void {
  let i = heap.length;
  heap.push(job);
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (!later(job, heap[parent]!)) break;
    heap[i] = heap[parent]!;
    i = parent;
  }
  heap[i] = job;
}

function heapReplaceRoot<T extends Listed>(heap: T[], job: T): void {
  const n = heap.length;
  let i = 0;
  for (;;) {
    const l = 2 * i + 1;
    if (l >= n) break;
    const r = l + 1;
    const child = r < n && later(heap[r]!, heap[l]!) ? r : l;
    if (!later(heap[child]!, job)) break;
    heap[i] = heap[child]!;
    i = child;
  }
  heap[i] = job;
}
