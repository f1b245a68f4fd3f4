// Shared test plumbing: temp data dirs, fixtures, apps that close themselves.
import { existsSync } from 'node:fs';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';
import { createCeleriac, type Celeriac, type CeleriacOptions } from '../src/index.js';
import type { JobEvent } from '../src/jobs.js';
import { type PoolOptions, WorkerPool } from '../src/pool/pool.js';
import { recordText, scanLines } from '../src/store/scan.js';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const fixture = (...parts: string[]) => join(ROOT, 'test', 'fixtures', ...parts);

/** A fresh temp directory, removed when the test ends. */
export async function tempDir(t: TestContext, prefix = 'celeriac-test-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  // An app closed by a later after-hook may still write into it meanwhile (a compaction's
  // snapshot): rm retries on ENOTEMPTY rather than fail the test at its cleanup.
  t.after(() => rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 }));
  return dir;
}

/** An app on a temp data dir (or the given one), closed when the test ends. */
export async function openApp(t: TestContext, options: Partial<CeleriacOptions> = {}): Promise<Celeriac> {
  const dir = options.dir ?? join(await tempDir(t), 'data');
  const app = await createCeleriac({ tasks: [fixture('basic')], logger: false, concurrency: 2, ...options, dir });
  t.after(() => app.close({ timeout: 1 }));
  return app;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Poll until `check` returns a truthy value, at most `ms` milliseconds. */
export async function waitFor<T>(check: () => T | Promise<T>, ms = 10_000, what = 'condition'): Promise<NonNullable<T>> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v as NonNullable<T>;
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(10);
  }
}

/**
 * Wait until every worker thread of a started app has loaded its modules: start() resolves
 * once the first has, so a test that needs jobs spread over all of them waits for this.
 */
export async function allThreadsLoaded(app: Celeriac, ms = 30_000): Promise<void> {
  await waitFor(
    () => {
      const threads = app.workers().threads;
      return threads.length === app.poolSize && threads.every((w) => w.state === 'active');
    },
    ms,
    'every worker thread to load its modules',
  );
}

/** One line of the side file the tasks of fixtures/crash write as they start and end. */
export interface TaskRun {
  phase: 'start' | 'end';
  id: string;
  label?: string;
  attempt: number;
  retries: number;
  recovered: boolean;
  at: number;
}

/** The complete lines of such a side file (none if it does not exist yet). */
export async function readRuns(file: string): Promise<TaskRun[]> {
  const text = existsSync(file) ? await readFile(file, 'utf8') : '';
  return text
    .split('\n')
    .slice(0, -1) // a line still being appended has no newline yet
    .map((l) => JSON.parse(l) as TaskRun);
}

/** A journal segment's bytes up to its last record (without the zeros preallocated after it). */
export function journalRecords(segment: Buffer): Buffer {
  return segment.subarray(0, scanLines(segment, { zeroTail: true }).validBytes);
}

/** A journal segment's or snapshot's valid records: their JSON texts and the byte offset of each line. */
export function scanRecords(buf: Buffer): { records: string[]; offsets: number[]; validBytes: number } {
  const scan = scanLines(buf);
  return { records: scan.starts.map((_, i) => recordText(buf, scan, i)), offsets: scan.starts, validBytes: scan.validBytes };
}

/**
 * Write `data` after a journal segment's last record, where the store writes its next one
 * (over the preallocated zeros), as a write torn by a crash would leave it. Returns the
 * offset written at.
 */
export async function appendToJournal(path: string, data: string | Buffer): Promise<number> {
  const at = journalRecords(await readFile(path)).length;
  const fh = await open(path, 'r+');
  try {
    await fh.write(typeof data === 'string' ? Buffer.from(data) : data, 0, undefined, at);
  } finally {
    await fh.close();
  }
  return at;
}

/** The journal's add record of job `job-<i>` (demo.echo, a payload of its own): for store tests. */
export function addEvent(i: number): JobEvent {
  return {
    type: 'add',
    job: {
      id: `job-${i}`,
      task: 'demo.echo',
      args: JSON.stringify([`payload ${i}`, { n: i }]),
      createdAt: 1_700_000_000_000 + i,
      runAt: 0,
      expiresAt: 0,
      priority: 0,
    },
  };
}

/** A pool of one worker thread with one slot loading `modules`, for tests that drive a WorkerPool or a backend directly. */
export function testPool(modules: string[] = [], options: Partial<PoolOptions> = {}): WorkerPool {
  return new WorkerPool({
    modules,
    plugins: [],
    size: 1,
    concurrency: 1,
    timeoutGraceMs: 100,
    maxResultBytes: 1024,
    maxWorkerLosses: 1,
    ...options,
  });
}
