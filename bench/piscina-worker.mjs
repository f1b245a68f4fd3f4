// Piscina's worker module as its users write it: plain JavaScript, no loader.
// The no-op job (default export) and the CPU job ("cpu").
import { cpuJob, noopJob } from './jobs.mjs';

export default function noop(p) {
  return noopJob(p);
}

export function cpu(p) {
  return cpuJob(p);
}
