// Starting a worker thread that can import TypeScript: a tiny CommonJS bootstrap
// registers tsx's ESM hooks (only when a .ts module may be involved: they cost hundreds
// of ms of start-up per thread), then imports the worker entry. Where Node strips
// erasable TypeScript itself, no thread registers tsx up front: load-modules.ts loads it
// for a module that needs more than stripping (the `tsxFallback` below); where it does
// not, load-modules.ts registers it before the first TypeScript task module.
import { Worker, type ResourceLimits } from 'node:worker_threads';
import { compileCacheDir } from './compile-cache.js';
import type { WorkerData } from './protocol.js';

const OWN_EXT = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
const ENTRY = new URL(`./thread/worker${OWN_EXT}`, import.meta.url).href;
/**
 * What registers tsx at a thread's boot: the built package's own registration (only tsx's
 * hooks); celeriac's TypeScript source needs tsx before it can load any of its own files.
 */
const TSX_AT_BOOT = OWN_EXT === '.js' ? new URL('./thread/register-tsx.js', import.meta.url).href : undefined;
const TS_MODULE = /\.[cm]?tsx?$/;
/** Node ≥ 22.18 (and 23.6+) loads erasable TypeScript without a loader. */
const NODE_STRIPS_TYPES = Boolean((process.features as { typescript?: string | false }).typescript);

const BOOT = `
const { workerData } = require('node:worker_threads');
if (workerData.boot.cache) {
  try { require('node:module').enableCompileCache(workerData.boot.cache); } catch {}
}
(async () => {
  if (workerData.boot.tsx) {
    const tsx = await import(workerData.boot.tsx);
    await (tsx.registerTsx ?? tsx.register)();
  }
  await import(workerData.boot.entry);
})().catch((err) => { process.nextTick(() => { throw err; }); });
`;

/**
 * Whether a worker loading these modules registers tsx. With plugins, always: a plugin's
 * entry and the modules its taskImports() returns are only known inside the worker.
 */
export function needsTsx(modules: string[], plugins: readonly unknown[]): boolean {
  if (OWN_EXT === '.ts') return true; // celeriac's own source imports './x.js' meaning x.ts
  return !NODE_STRIPS_TYPES && (plugins.length > 0 || modules.some((m) => TS_MODULE.test(m)));
}

/**
 * Whether tsx is registered before the worker's own modules load. A spare registers it
 * ahead, so that a reload only compiles the edited file. Otherwise a thread loads celeriac
 * without tsx's hooks (each import through them is a round trip to tsx's hooks thread)
 * and registers tsx just before its first TypeScript module (load-modules.ts).
 */
function tsxAtBoot(data: WorkerData): boolean {
  if (data.mode === 'spare' || OWN_EXT === '.ts') return needsTsx(data.modules, data.plugins);
  return !NODE_STRIPS_TYPES && data.plugins.length > 0;
}

export function spawnWorker(data: WorkerData, resourceLimits?: ResourceLimits): Worker {
  const atBoot = tsxAtBoot(data);
  // Resolving tsx's package (its exports map) is a noticeable part of the first spawn: only
  // where the boot registers it; otherwise load-modules.ts imports it if a module needs it.
  const boot = {
    entry: ENTRY,
    tsx: atBoot ? (TSX_AT_BOOT ?? import.meta.resolve('tsx/esm/api')) : undefined,
    tsxFallback: !atBoot,
    cache: compileCacheDir(),
  };
  return new Worker(BOOT, {
    eval: true,
    workerData: { ...data, boot },
    ...(resourceLimits ? { resourceLimits } : {}),
  });
}
