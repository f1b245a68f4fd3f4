// celeriac's bench tasks (run in its worker threads; defined with the public API only).
import { linkSync, unlinkSync, writeFileSync } from 'node:fs';
import { threadId } from 'node:worker_threads';
import { task } from '../../dist/index.js';
import { cpuJob, noopJob, type Payload } from '../params.js';

/** W1/W2: the no-op job. */
export const noop = task('bench.noop', (p: Payload) => noopJob(p));

/** W3: the CPU job. */
export const cpu = task('bench.cpu', (p: Payload) => cpuJob(p));

let marked = false;
/**
 * W4: the no-op job that also records, once, when the first job ran: Date.now() into
 * the file named by CELERIAC_BENCH_MARK. Written to a private file, then hard-linked into
 * place: the mark appears complete, and only the first worker thread's link succeeds.
 */
export const first = task('bench.first', (p: Payload) => {
  if (!marked) {
    marked = true;
    const file = process.env.CELERIAC_BENCH_MARK;
    if (file) {
      const mine = `${file}.${process.pid}.${threadId}`;
      writeFileSync(mine, String(Date.now()));
      try {
        linkSync(mine, file);
      } catch {
        // another worker thread was first
      }
      unlinkSync(mine);
    }
  }
  return noopJob(p);
});
