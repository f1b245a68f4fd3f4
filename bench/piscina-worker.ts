// Piscina's worker module: the no-op job (default export) and the CPU job ("cpu").
import { cpuJob, noopJob, type Payload } from './params.js';

export default function noop(p: Payload): number {
  return noopJob(p);
}

export function cpu(p: Payload): number {
  return cpuJob(p);
}
