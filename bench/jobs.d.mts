// Types of jobs.mjs (plain JavaScript, loaded without tsx by the worker modules).
export function noopJob(p: { id: number }): number;
export const CPU_ROUNDS: number;
export function cpuWork(): number;
export function cpuJob(p: { id: number }): number;
