// Registering tsx's ESM hooks in a worker thread. Where Node has no module.registerHooks
// (Node 20), tsx's own `register()` (tsx/esm/api) runs its hooks in a thread of their own,
// yet its module loads esbuild and tsx's CommonJS machinery into this thread too, where
// nothing uses them. There, with a tsx version whose registration this copies, this does
// the three things `register()` does, and nothing else: tsx's hooks, its tsconfig handling
// and its .js -> .ts resolution apply as they would through tsx's API. Anywhere else (Node
// with registerHooks, another tsx version), tsx's API is used as it is.
import module, { createRequire } from 'node:module';
import { MessageChannel, threadId } from 'node:worker_threads';

/** The tsx versions whose `register()` this file does the work of (their hooks module and the data it takes). */
const COPIED_TSX = /^4\.23\./;

type ModuleInternals = { _resolveFilename: (request: string, ...rest: unknown[]) => string; _cache: Record<string, unknown> };

let registered = false;

export async function registerTsx(): Promise<void> {
  if (registered) return;
  const tsxVersion = (createRequire(import.meta.url)('tsx/package.json') as { version: string }).version;
  if (typeof (module as { registerHooks?: unknown }).registerHooks === 'function' || !COPIED_TSX.test(tsxVersion)) {
    (await import('tsx/esm/api')).register();
    registered = true;
    return;
  }
  // A CommonJS module that tsx's load hook hands over as a `data:` URL names its real file
  // in a `filePath` parameter: require() resolves it to that file and keeps its entry there.
  const internals = module as unknown as ModuleInternals;
  const resolveFilename = internals._resolveFilename;
  internals._resolveFilename = (request, ...rest) => resolveFilename(originalFile(internals, request), ...rest);
  // Stack traces of TypeScript modules point at the .ts lines (tsx's transforms carry maps).
  process.setSourceMapsEnabled(true);
  // The port is how tsx's API would deactivate the hooks; a thread never does, but the
  // hooks' initialize() expects one. tsx's hooks module (`tsx/esm`) only exports the hooks
  // in the hooks' thread; the query gives this registration its own instance, as tsx does.
  const { port2 } = new MessageChannel();
  module.register(`${import.meta.resolve('tsx/esm')}?celeriac-thread-${threadId}`, { data: { port: port2 }, transferList: [port2] });
  registered = true;
}

function originalFile(internals: ModuleInternals, request: string): string {
  if (!request.startsWith('data:text/javascript,')) return request;
  const query = request.indexOf('?');
  if (query === -1) return request;
  const file = new URLSearchParams(request.slice(query + 1)).get('filePath');
  if (!file) return request;
  internals._cache[file] = internals._cache[request];
  delete internals._cache[request];
  return file;
}
