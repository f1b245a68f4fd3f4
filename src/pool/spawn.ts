// Starting a worker thread that can import TypeScript: a tiny CommonJS bootstrap
// registers tsx's ESM hooks (only when a .ts module may be involved: they cost ~100 ms
// of start-up), then imports the worker entry.
import { Worker, type ResourceLimits } from 'node:worker_threads';
import type { WorkerData } from './protocol.js';

const OWN_EXT = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
const ENTRY = new URL(`./worker${OWN_EXT}`, import.meta.url).href;
const TS_MODULE = /\.[cm]?tsx?$/;

const BOOT = `
const { workerData } = require('node:worker_threads');
(async () => {
  if (workerData.boot.tsx) (await import(workerData.boot.tsx)).register();
  await import(workerData.boot.entry);
})().catch((err) => { process.nextTick(() => { throw err; }); });
`;

/**
 * Whether a worker loading these modules registers tsx. With plugins, always: a plugin's
 * entry and the modules its taskImports() returns are only known inside the worker.
 */
export function needsTsx(modules: string[], plugins: readonly unknown[]): boolean {
  return OWN_EXT === '.ts' || plugins.length > 0 || modules.some((m) => TS_MODULE.test(m));
}

export function spawnWorker(data: WorkerData, resourceLimits?: ResourceLimits): Worker {
  const boot = { entry: ENTRY, tsx: needsTsx(data.modules, data.plugins) ? import.meta.resolve('tsx/esm/api') : undefined };
  return new Worker(BOOT, {
    eval: true,
    workerData: { ...data, boot },
    ...(resourceLimits ? { resourceLimits } : {}),
  });
}
