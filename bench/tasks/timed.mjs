// W3's CPU job, timed where it runs: returns [threadId, start, end] (epoch ms, sub-ms
// precision) so that bench/w3-gaps.ts can see each thread's idle time between jobs.
// A celeriac task (`bench.cpu-timed`) and a Piscina export (`cpuTimed`).
import { performance } from 'node:perf_hooks';
import { threadId } from 'node:worker_threads';
import { task } from '../../dist/index.js';
import { cpuJob } from '../jobs.mjs';

export function cpuTimed(p) {
  const start = performance.timeOrigin + performance.now();
  cpuJob(p);
  return [threadId, start, performance.timeOrigin + performance.now()];
}

export const timed = task('bench.cpu-timed', (p) => cpuTimed(p));
