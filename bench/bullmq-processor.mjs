// BullMQ's sandboxed processor for W3, run in a worker thread (useWorkerThreads). Plain
// JS: on Node 20 a worker thread does not get tsx's hooks from the parent's
// `--import tsx`, so it registers them itself before importing the TypeScript params.
import { register } from 'tsx/esm/api';

register();
const { cpuJob } = await import('./params.ts');

/** @param {import('bullmq').SandboxedJob} job */
export default async function cpu(job) {
  return cpuJob(job.data);
}
