// The bench's jobs in plain JavaScript, so that worker modules run as their users write
// them (no tsx in the threads). params.ts re-exports them with their types.
import { createHash } from 'node:crypto';

/** The no-op job: returns payload.id. */
export function noopJob(p) {
  return p.id;
}

export const CPU_ROUNDS = 1075;
const CPU_BLOCK = Buffer.alloc(1024, 0x5a);

/** The CPU job's work: 1075 × sha256(1 KiB of 0x5a, String(k)). */
export function cpuWork() {
  let acc = 0;
  for (let k = 0; k < CPU_ROUNDS; k++) {
    const d = createHash('sha256').update(CPU_BLOCK).update(String(k)).digest();
    acc ^= d[0];
  }
  return acc;
}

/** The CPU job as a task: does the work, returns payload.id. */
export function cpuJob(p) {
  cpuWork();
  return p.id;
}
