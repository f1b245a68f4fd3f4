// Inside a worker thread: import the task modules and the modules plugins declare,
// and build the registry. Plugin code (taskImports()) runs here too, never in the host.
import { readFileSync, realpathSync } from 'node:fs';
import { DEFAULT_QUEUE } from '../../queues.js';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { workerData } from 'node:worker_threads';
import { definedSchedules } from '../../schedule/define.js';
import type { ScheduleEntry } from '../../schedule/types.js';
import { definedTasks, type TaskDefinition } from '../../task.js';
import { importProblem } from './outcome.js';
import { allowErasedOptionals, readParams } from './read-params.js';
import type { ModuleProblem, PluginRef, TaskManifestEntry } from '../../registry/types.js';

export interface LoadedTasks {
  registry: Map<string, TaskDefinition>;
  manifest: TaskManifestEntry[];
  schedules: ScheduleEntry[];
  problems: ModuleProblem[];
  /** Every module file imported, with the plugin that declared it (for watching and doctor). */
  modules: { file: string; plugin?: string }[];
}

/**
 * Whether this thread, started without tsx (spawn.ts), may register it. Where Node strips
 * erasable TypeScript, registered the first time a module fails to load in a way only a
 * transform can fix; where it does not, before the first task module if one is TypeScript.
 */
const tsxFallback = (workerData as { boot?: { tsxFallback?: boolean } } | null)?.boot?.tsxFallback === true;
let tsxRegistered = false;
/** tsx's CommonJS hooks are registered too (see inCommonJsPackage). */
let tsxCommonJs = false;

const TS_MODULE = /\.[cm]?tsx?$/;
/** Node ≥ 22.18 (and 23.6+) loads erasable TypeScript itself; before, a .ts module needs tsx. */
const NODE_STRIPS_TYPES = Boolean((process.features as { typescript?: string | false }).typescript);
/** A task module of this thread's list is TypeScript (a .js one may import it too: tsx goes before the first import). */
const TS_LISTED = ((workerData as { modules?: string[] } | null)?.modules ?? []).some((m) => TS_MODULE.test(m));
/** Failures that type stripping gives and tsx does not: syntax to transform, `./x.js` meaning x.ts, .tsx, .ts under node_modules. */
const NEEDS_TRANSFORM = new Set([
  'ERR_UNSUPPORTED_TYPESCRIPT_SYNTAX',
  'ERR_INVALID_TYPESCRIPT_SYNTAX',
  'ERR_UNSUPPORTED_NODE_MODULES_TYPE_STRIPPING',
  'ERR_UNKNOWN_FILE_EXTENSION',
  'ERR_MODULE_NOT_FOUND',
]);

function needsTransform(file: string, err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code.includes('TYPESCRIPT')) return true;
  return TS_MODULE.test(file) && (err instanceof SyntaxError || (typeof code === 'string' && NEEDS_TRANSFORM.has(code)));
}

/**
 * Import one module (on Node 20, require a CommonJS TypeScript one: see inCommonJsPackage).
 * Where Node stripped the types and that was not enough, register tsx and import it again:
 * a load that failed to parse or resolve evaluated nothing, and Node does not keep such a
 * failure, so the second import starts afresh.
 */
async function importModule(file: string): Promise<unknown> {
  const url = pathToFileURL(file).href;
  if (tsxFallback && !tsxRegistered && !NODE_STRIPS_TYPES && TS_LISTED) await registerTsx();
  // The frames of tsx's hooks and register-tsx.ts come before a module's own: keep enough
  // of them for the module's line to be in the stack of an error it raises while loading.
  const stackLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = Math.max(stackLimit, 50);
  try {
    if (!NODE_STRIPS_TYPES && (/\.cts$/.test(file) || (/\.tsx?$/.test(file) && inCommonJsPackage(file)))) {
      if (!tsxCommonJs) (await import('tsx/cjs/api')).register();
      tsxCommonJs = true;
      return createRequire(file)(file);
    }
    try {
      return await import(url);
    } catch (err) {
      if (!tsxFallback || tsxRegistered || !needsTransform(file, err)) throw err;
      await registerTsx();
      return await import(url);
    }
  } finally {
    Error.stackTraceLimit = stackLimit;
  }
}

/**
 * Whether `file` is in a CommonJS package: the nearest package.json says no "type":
 * "module" (or there is none). Where Node does not strip types (Node 20), tsx's ES module
 * hooks hand such a .ts file to Node's CommonJS loader, which reads it as JavaScript: a
 * type fails to parse, and import/export makes Node load it as an ES module from within
 * its own import (ERR_REQUIRE_CYCLE_MODULE); and a CommonJS module imported through the
 * hooks cannot require() an ES module (celeriac). So a CommonJS TypeScript module (.cts,
 * or .ts in such a package) is required, through tsx's CommonJS hooks, as `tsx` loads it
 * in the host; they load esbuild into this thread, which only such a module pays for.
 */
function inCommonJsPackage(file: string): boolean {
  // Node and tsx go by the file's real path (a linked module belongs to its target's package).
  let real = file;
  try {
    real = realpathSync(file);
  } catch {
    // the import reports a missing file
  }
  for (let dir = dirname(real); ; dir = dirname(dir)) {
    let text: string | undefined;
    try {
      text = readFileSync(join(dir, 'package.json'), 'utf8');
    } catch {
      // none here: look further up
    }
    if (text !== undefined) {
      try {
        return (JSON.parse(text) as { type?: unknown }).type !== 'module';
      } catch {
        return true; // Node refuses the package then, whatever the type: nothing to add
      }
    }
    if (dirname(dir) === dir) return true;
  }
}

async function registerTsx(): Promise<void> {
  await (await import('./register-tsx.js')).registerTsx();
  tsxRegistered = true;
}

/** What a plugin's taskImports() names, resolved to files; or the problem that stopped it. */
async function pluginModules(plugin: PluginRef): Promise<{ files: string[]; problems: ModuleProblem[] }> {
  let mod: Record<string, unknown>;
  try {
    mod = (await importModule(plugin.entry)) as Record<string, unknown>;
  } catch (err) {
    const p = importProblem(plugin.entry, err);
    return { files: [], problems: [{ ...p, plugin: plugin.name, message: `plugin ${plugin.name}: ${p.message}` }] };
  }
  const failed = (why: string) => ({
    files: [],
    problems: [{ kind: 'plugin' as const, plugin: plugin.name, file: plugin.entry, message: `plugin ${plugin.name}: ${why}` }],
  });
  const fn = mod.taskImports ?? (mod.default as Record<string, unknown> | undefined)?.taskImports;
  if (typeof fn !== 'function') {
    return failed(
      `${plugin.entry} does not export a taskImports() function (export function taskImports(): string[] { return ['./tasks.js'] })`,
    );
  }
  let specs: unknown;
  try {
    specs = await (fn as () => unknown)();
  } catch (err) {
    return failed(`taskImports() threw ${(err as Error)?.message ?? String(err)}`);
  }
  if (!Array.isArray(specs) || specs.some((s) => typeof s !== 'string')) {
    return failed(`taskImports() must return an array of module paths, got ${JSON.stringify(specs)}`);
  }
  const files: string[] = [];
  const problems: ModuleProblem[] = [];
  const req = createRequire(plugin.entry);
  for (const spec of specs as string[]) {
    try {
      files.push(spec.startsWith('.') || isAbsolute(spec) ? req.resolve(resolve(dirname(plugin.entry), spec)) : req.resolve(spec));
    } catch {
      problems.push({
        kind: 'plugin',
        plugin: plugin.name,
        file: plugin.entry,
        message: `plugin ${plugin.name}: taskImports() names "${spec}", which does not resolve from ${plugin.entry}`,
      });
    }
  }
  return { files, problems };
}

export async function loadTasks(modules: string[], plugins: PluginRef[]): Promise<LoadedTasks> {
  await import('../../builtin/test-task.js');
  const problems: ModuleProblem[] = [];
  const queue: { file: string; plugin?: string }[] = modules.map((file) => ({ file }));
  for (const plugin of plugins) {
    const found = await pluginModules(plugin);
    problems.push(...found.problems);
    for (const file of found.files) queue.push({ file, plugin: plugin.name });
  }
  const pluginOf = new Map<TaskDefinition, string>();
  const loaded: { file: string; plugin?: string }[] = [];
  for (const m of queue) {
    if (loaded.some((l) => l.file === m.file)) continue;
    loaded.push(m);
    const before = definedTasks().length;
    const schedulesBefore = definedSchedules().length;
    try {
      await importModule(m.file);
    } catch (err) {
      const p = importProblem(m.file, err);
      // A bad schedule() throws while its module is imported: report it as what it is.
      if ((err as { code?: unknown } | null)?.code === 'INVALID_SCHEDULE') p.kind = 'schedule';
      problems.push(m.plugin ? { ...p, plugin: m.plugin } : p);
      // Tasks the module defined before it threw are not loaded: the module as a whole failed.
      definedTasks().splice(before);
      definedSchedules().splice(schedulesBefore);
      continue;
    }
    const defs = definedTasks();
    if (defs.length === before && definedSchedules().length === schedulesBefore)
      problems.push({
        kind: 'empty',
        file: m.file,
        ...(m.plugin ? { plugin: m.plugin } : {}),
        message: `task module ${m.file} defines no task (does it call task(...) at the top level?)`,
      });
    if (m.plugin) for (let i = before; i < defs.length; i++) pluginOf.set(defs[i]!, m.plugin);
  }
  const registry = new Map<string, TaskDefinition>();
  for (const def of definedTasks()) {
    const seen = registry.get(def.name);
    if (!seen) registry.set(def.name, def);
    else if (seen !== def && (seen.file !== def.file || seen.line !== def.line)) {
      problems.push({
        kind: 'duplicate',
        file: def.file,
        message: `task name "${def.name}" is defined twice: ${seen.file}:${seen.line} and ${def.file}:${def.line}. Task names must be unique: rename one of them.`,
      });
    }
  }
  const sources = new Map<string, string | undefined>();
  const sourceOf = (file: string) => {
    if (!sources.has(file)) {
      try {
        sources.set(file, readFileSync(file, 'utf8'));
      } catch {
        sources.set(file, undefined);
      }
    }
    return sources.get(file);
  };
  const manifest: TaskManifestEntry[] = [...registry.values()].map((d) => {
    const entry: TaskManifestEntry = {
      name: d.name,
      file: d.file,
      line: d.line,
      priority: d.options.priority,
      expiresMs: d.options.expiresMs,
      timeoutMs: d.options.timeoutMs,
      maxRetries: d.options.maxRetries,
      retryDelayMs: d.options.retryDelayMs,
    };
    if (d.options.rateLimit) entry.rateLimit = d.options.rateLimit;
    if (d.options.queue !== DEFAULT_QUEUE) entry.queue = d.options.queue;
    const plugin = pluginOf.get(d);
    if (plugin) entry.plugin = plugin;
    const params = readParams(d.fn);
    if (params) entry.params = d.file ? allowErasedOptionals(params, d.file, sourceOf(d.file)) : params;
    return entry;
  });
  const declared = definedSchedules();
  // The schedules' checks (and the unknown-task errors they give) load only where a module declares one.
  const schedules = declared.length === 0 ? [] : (await import('../../schedule/registry.js')).checkSchedules(declared, manifest, problems);
  return { registry, manifest, schedules, problems, modules: loaded };
}
