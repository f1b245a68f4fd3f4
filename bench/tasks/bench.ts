// celeriac's bench tasks (run in its worker threads; defined with the public API only).
import { writeFileSync } from 'node:fs';
import { task } from '../../src/index.js';
import { cpuJob, noopJob, type Payload } from '../params.js';

/** W1/W2: the no-op job. */
export const noop = task('bench.noop', (p: Payload) => noopJob(p));

/** W3: the CPU job. */
export const cpu = task('bench.cpu', (p: Payload) => cpuJob(p));

let marked = false;
/**
 * W4: the no-op job that also records, once, when the first job ran: Date.now() into
 * the file named by CELERIAC_BENCH_MARK ('wx': only the first writer of the process wins).
 */
export const first = task('bench.first', (p: Payload) => {
  if (!marked) {
    marked = true;
    const file = process.env.CELERIAC_BENCH_MARK;
    if (file) {
      try {
        writeFileSync(file, String(Date.now()), { flag: 'wx' });
      } catch {
        // another worker thread was first
      }
    }
  }
  return noopJob(p);
});
