// Finding task modules (files and directories) and asking a worker thread which tasks
// they define: the host learns names, files and options without importing task code.
import { readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { CeleriacError } from '../errors.js';
import { spawnWorker } from '../pool/spawn.js';
import type { WorkerMessage } from '../pool/protocol.js';
import type { ModuleProblem, PluginRef, TaskManifestEntry } from './types.js';
import { slotBytes } from '../pool/protocol.js';
import type { ScheduleEntry } from '../schedule/types.js';

const MODULE_FILE = /\.(?:[cm]?ts|[cm]?js)$/;
const SKIPPED = /\.d\.[cm]?ts$/;

/** Expand task paths (files, or directories searched recursively) into module files. */
export async function findTaskModules(paths: string[], cwd: string): Promise<string[]> {
  const found = new Set<string>();
  for (const given of paths) {
    const path = resolve(cwd, given);
    let info;
    try {
      info = await stat(path);
    } catch {
      throw new CeleriacError('TASKS_NOT_FOUND', `tasks path "${given}" does not exist (resolved to ${path}): fix the "tasks" option`);
    }
    if (info.isDirectory()) for (const f of await walk(path)) found.add(f);
    else found.add(path);
  }
  return [...found].sort();
}

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await walk(path)));
    else if (MODULE_FILE.test(entry.name) && !SKIPPED.test(entry.name)) out.push(path);
  }
  return out;
}

export interface Discovery {
  tasks: TaskManifestEntry[];
  schedules: ScheduleEntry[];
  problems: ModuleProblem[];
  /** Every module imported (task paths and plugins' taskImports), with its plugin. */
  modules: { file: string; plugin?: string }[];
}

/** Import the modules in a throwaway worker and report what they define. */
export function discoverTasks(modules: string[], plugins: PluginRef[] = []): Promise<Discovery> {
  const worker = spawnWorker({
    mode: 'discover',
    modules,
    plugins,
    concurrency: 1,
    timeoutGraceMs: 0,
    maxResultBytes: 0,
    slotTable: new SharedArrayBuffer(slotBytes(1)),
  });
  return new Promise<Discovery>((resolvePromise, reject) => {
    let crash: Error | undefined;
    worker.once('message', (msg: WorkerMessage) => {
      if (msg.t === 'ready') resolvePromise({ tasks: msg.tasks, schedules: msg.schedules, problems: msg.problems, modules: msg.modules });
      void worker.terminate();
    });
    worker.once('error', (err) => {
      crash = err;
    });
    worker.once('exit', (code) => reject(crash ?? new Error(`the discovery worker exited with code ${code} before reporting`)));
  });
}

/** Turn discovery problems into one error that lists every one of them (a module without tasks is only a warning). */
export function assertNoProblems(all: ModuleProblem[]): void {
  const problems = all.filter((p) => p.kind !== 'empty');
  if (problems.length === 0) return;
  const code = problems.some((p) => p.kind === 'import')
    ? 'TASK_IMPORT_FAILED'
    : problems.some((p) => p.kind === 'plugin')
      ? 'PLUGIN_NOT_FOUND'
      : problems.some((p) => p.kind === 'duplicate')
        ? 'DUPLICATE_TASK'
        : 'INVALID_SCHEDULE';
  const list = problems.map((p) => `  - ${p.message}`).join('\n');
  throw new CeleriacError(
    code,
    `${problems.length === 1 ? 'a task module has a problem' : `${problems.length} task module problems`}:\n${list}`,
  );
}
