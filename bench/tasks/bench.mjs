// celeriac's bench tasks as a plain JavaScript module (what W1–W3 load, alike with
// Piscina's worker). Defined with the public API only, from the built package.
import { task } from '../../dist/index.js';
import { cpuJob, noopJob } from '../jobs.mjs';

/** W1/W2: the no-op job. */
export const noop = task('bench.noop', (p) => noopJob(p));

/** W3: the CPU job. */
export const cpu = task('bench.cpu', (p) => cpuJob(p));
