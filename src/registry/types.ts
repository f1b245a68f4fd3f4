// What the host knows of the task modules without importing them: the manifest a worker
// thread reports once it has loaded them, the problems it met, and the plugins it loaded.

/** A task function's declared parameters, as the worker thread reads them (pool/thread/read-params.ts). */
export interface TaskParams {
  /** Each parameter as written (whitespace collapsed), for messages: `myapp.hash(text, rounds)`. */
  list: string[];
  /** Arguments required: the parameters before the first one with a default or a rest parameter. */
  min: number;
  /** Arguments accepted at most; null when unbounded (a rest parameter, or `arguments` in the body). */
  max: number | null;
}

/** A task as the host knows it without importing its module: what a worker thread reports once it has loaded the task modules. */
export interface TaskManifestEntry {
  name: string;
  file: string;
  line: number;
  /** The plugin package whose taskImports() declared the module, if any. */
  plugin?: string;
  priority: number;
  expiresMs: number;
  timeoutMs: number;
  maxRetries: number;
  retryDelayMs: number;
  /** The task's queue (task option queue), when not the default one. */
  queue?: string;
  /** Most starts per window in this app (task option rateLimit). */
  rateLimit?: { count: number; windowMs: number };
  /** The task function's declared parameters; absent when they could not be read (sends are then not checked). */
  params?: TaskParams;
}

/** A task module that would not load as it should: found while the worker thread imported the modules. */
export interface ModuleProblem {
  /** `empty` (a module that defines no task) is a warning; the others are errors. */
  kind: 'import' | 'duplicate' | 'empty' | 'plugin' | 'schedule';
  file: string;
  plugin?: string;
  message: string;
}

/** A plugin package and the module its package.json names in `"celeriac": { "taskImports" }`. */
export interface PluginRef {
  name: string;
  entry: string;
}
