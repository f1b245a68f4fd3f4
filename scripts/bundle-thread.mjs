// Build step after tsc: the worker thread's entry (dist/pool/thread/worker.js) and the
// modules only the thread imports become one file, since every module a thread imports
// costs it a resolve, a read and a compile at its start. What celeriac's public entry
// (dist/index.js) imports stays a separate, shared module: task modules import that entry,
// and must get the same task registry and context instance as the thread. Dynamic imports
// stay separate too (they load at first use). esbuild comes with tsx, a dependency.
// Usage: node scripts/bundle-thread.mjs [dist dir]
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';

const DIST = resolve(process.argv[2] ?? 'dist');
const ENTRY = join(DIST, 'pool/thread/worker.js');
const esbuild = createRequire(createRequire(import.meta.url).resolve('tsx/package.json'))('esbuild');

/** The files `entry` imports statically (relative imports only), itself included. */
function closure(entry) {
  const seen = new Set();
  const visit = (file) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const m of readFileSync(file, 'utf8').matchAll(/^\s*(?:import|export)\s(?:[^'";]*?\sfrom\s)?['"]([^'"]+)['"]/gm)) {
      if (m[1].startsWith('.')) visit(resolve(dirname(file), m[1]));
    }
  };
  visit(entry);
  return seen;
}

const shared = closure(join(DIST, 'index.js'));
const external = {
  name: 'shared-modules-external',
  setup(build) {
    build.onResolve({ filter: /^\./ }, (args) => {
      const file = resolve(args.resolveDir, args.path);
      if (args.kind !== 'dynamic-import' && !shared.has(file)) return undefined;
      const path = relative(dirname(ENTRY), file);
      return { path: path.startsWith('.') ? path : `./${path}`, external: true };
    });
  },
};

await esbuild.build({
  entryPoints: [ENTRY],
  outfile: ENTRY,
  allowOverwrite: true,
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  // Section comments name each bundled file relative to dist (test/start-up-modules.test.ts reads them).
  absWorkingDir: DIST,
  logLevel: 'warning',
  plugins: [external],
});
