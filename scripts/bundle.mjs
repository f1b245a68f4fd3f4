// Build step after tsc: the package's JavaScript becomes a few files, since every module a
// process or a worker thread imports costs it a resolve, a read and a compile at its start
// (the host before it can spawn the first thread, each thread before its first job).
// esbuild splits the code among its entries: each module's code is in exactly one output
// file, imported by every entry that needs it, so a task module importing 'celeriac'
// (index.js) gets the same task registry and context as the thread's entry. The entries
// keep their paths: the package's exports, the bin, the thread's entries (spawned by URL)
// and the modules imported at first use by name; the rest becomes shared chunks.
// Dynamic imports stay dynamic (they load at first use). esbuild comes with tsx, a dependency.
// Usage: node scripts/bundle.mjs [dist dir]
import { mkdirSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';

// Its real path: esbuild reports real paths, which are compared with these and written into URLs.
const DIST = realpathSync(resolve(process.argv[2] ?? 'dist'));
const esbuild = createRequire(createRequire(import.meta.url).resolve('tsx/package.json'))('esbuild');
/** A file of a bundled package (relative to dist: the checkout's own path may hold a node_modules). */
const inPackage = (file) => relative(DIST, file).split(/[\\/]/).includes('node_modules');

const ENTRIES = [
  'index.js', // 'celeriac'
  'admin.js', // 'celeriac/admin'
  'cli/main.js', // the bin
  'pool/thread/worker.js', // spawned by URL (pool/spawn.ts)
  'pool/thread/register-tsx.js', // a thread's boot imports it by URL
  // Imported at first use (entry-lazy.ts); kept by name so that a load hook can see them.
  'app/begin-open.js',
  'app.js',
  'client.js',
  // Its file:line is shown (celeriac tasks, the worker's banner): a stable name, not a hashed chunk.
  'builtin/test-task.js',
  // Internals the bench's tools import by path to compare builds (bench/thread-startup.mjs,
  // snapshot-write.mjs, finished-memory.mjs). None of index.js's own: see indexFirst.
  'pool/spawn.js',
  'pool/protocol.js',
  'store/snapshot-file.js',
  'store/file-store.js',
];

// A module's import.meta.url is its own file's: relative URLs (the thread's entry, the
// dashboard's assets, package.json) are resolved from it. In the bundle the code runs from
// another file, so each use becomes the module's original URL, built from the output file's
// own import.meta.url once the output's place is known (below).
const ROOT_MARK = '__celeriacDistRoot__';
function ownUrl(file) {
  const own = JSON.stringify(relative(DIST, file).split('\\').join('/'));
  return readFileSync(file, 'utf8').replaceAll('import.meta.url', `new URL(${own}, ${ROOT_MARK}).href`);
}
const keepOwnUrl = {
  name: 'keep-own-import-meta-url',
  setup(build) {
    build.onLoad({ filter: /\.js$/ }, (args) => {
      if (inPackage(args.path)) return undefined;
      const source = readFileSync(args.path, 'utf8');
      return source.includes('import.meta.url') ? { contents: ownUrl(args.path), loader: 'js' } : undefined;
    });
  },
};

// esbuild puts each module in a chunk by the set of entries that reach it, so the public
// entry's modules would be spread over many small chunks (task.ts alone, errors.ts with a
// few others, ...), each a file to load in every thread and in the host. Every other
// entry and every module imported at first use is made to import index.js first: all of
// index.js's modules are then reached by the same entries and make one chunk. Each of
// those runs in a process that has imported index.js already (the host through it, a
// thread through its task modules), and index.js's modules run nothing when imported.
const INDEX = join(DIST, 'index.js');
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
// index.js's own modules must not import it (a cycle): one that is an entry or imported at
// first use would also split index.js's chunk, so the build refuses it.
const OF_INDEX = closure(INDEX);
for (const e of ENTRIES)
  if (e !== 'index.js' && OF_INDEX.has(join(DIST, e))) throw new Error(`bundle.mjs: ${e} is one of index.js's modules`);
const indexFirst = {
  name: 'index-first',
  setup(build) {
    // Known before any file loads: esbuild loads files concurrently, so a module imported
    // both statically and at first use may load before its dynamic import is resolved.
    const late = new Set();
    const scan = (dir) => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, e.name);
        if (e.isDirectory()) scan(path);
        else if (e.name.endsWith('.js'))
          for (const m of readFileSync(path, 'utf8').matchAll(/\bimport\(\s*['"](\.[^'"]+)['"]\s*\)/g)) late.add(resolve(dir, m[1]));
      }
    };
    scan(DIST);
    build.onResolve({ filter: /^\./ }, (args) => {
      if (args.kind === 'dynamic-import' && !inPackage(args.importer) && !late.has(resolve(args.resolveDir, args.path)))
        throw new Error(`bundle.mjs: a dynamic import of ${args.path} in ${args.importer} that the scan did not find`);
      return undefined;
    });
    build.onLoad({ filter: /\.js$/ }, (args) => {
      const entry = ENTRIES.some((e) => join(DIST, e) === args.path) || late.has(args.path);
      if (!entry || args.path === INDEX) return undefined;
      if (OF_INDEX.has(args.path))
        throw new Error(`bundle.mjs: ${relative(DIST, args.path)}, one of index.js's modules, is imported at first use`);
      const source = ownUrl(args.path);
      const shebang = source.startsWith('#!') ? source.slice(0, source.indexOf('\n') + 1) : '';
      // On the first line of code, so that tsc's source map still holds for every line.
      return { contents: `${shebang}import ${JSON.stringify(INDEX)}; ${source.slice(shebang.length)}`, loader: 'js' };
    });
  },
};

// The small pure-JavaScript packages the host imports on its way to the first job (store,
// scheduler) are bundled too, with what they import: Node resolves a package through
// node_modules and its package.json, which cost the host more than their code. The others
// stay packages (loaded at first use, or the dashboard's browser files).
const BUNDLED = ['lowdb', 'p-queue', 'p-retry', 'tinyqueue'];
const packageOf = (specifier) => specifier.split('/', specifier.startsWith('@') ? 2 : 1).join('/');
const bundleSome = {
  name: 'bundle-some-packages',
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith('node:') || !(inPackage(args.importer) || BUNDLED.includes(packageOf(args.path)))) return { external: true };
      return undefined;
    });
  },
};

const result = await esbuild.build({
  entryPoints: ENTRIES.map((e) => join(DIST, e)),
  outdir: DIST,
  outbase: DIST,
  allowOverwrite: true,
  bundle: true,
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  // Classes and functions keep their own names (console.log(app), stack frames), not esbuild's renames.
  keepNames: true,
  write: false,
  // Section comments name each bundled file relative to dist (test/start-up-modules.test.ts reads them).
  absWorkingDir: DIST,
  logLevel: 'warning',
  metafile: true,
  plugins: [bundleSome, indexFirst, keepOwnUrl],
});

// The new files are written before tsc's separate ones are removed, so that a process
// reading dist meanwhile finds every file it imports; the stamp, written last, says the
// build is whole (test/cli-helpers.ts waits for it).
const STAMP = join(DIST, '.bundled');
rmSync(STAMP, { force: true });
for (const file of result.outputFiles) {
  let text = file.text;
  if (file.path.endsWith('.js') && text.includes(ROOT_MARK)) {
    const up = relative(dirname(file.path), DIST).split('\\').join('/');
    text = text.replaceAll(ROOT_MARK, `new URL(${JSON.stringify(up ? `${up}/` : './')}, import.meta.url)`);
  }
  mkdirSync(dirname(file.path), { recursive: true });
  writeFileSync(file.path, text);
}
// The bundled packages' licenses go with the code taken from them.
const packageRoots = new Set();
for (const input of Object.keys(result.metafile.inputs)) {
  const m = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input.split('\\').join('/'));
  if (m) packageRoots.add(resolve(DIST, m[1]));
}
const notices = [...packageRoots].sort().map((root) => {
  const { name, version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const file = readdirSync(root).find((f) => /^licen[cs]e/i.test(f));
  if (!file) throw new Error(`bundle.mjs: ${name} is bundled but has no license file`);
  return `${name}@${version}\n\n${readFileSync(join(root, file), 'utf8').trim()}\n`;
});
writeFileSync(
  join(DIST, 'THIRD-PARTY-LICENSES.txt'),
  `Code from these packages is bundled into celeriac's dist/chunks:\n\n${notices.join('\n---\n\n')}`,
);
const outputs = new Set(result.outputFiles.map((f) => f.path));
const removeStale = (dir) => {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, e.name);
    if (e.isDirectory()) removeStale(path);
    else if (/\.js(?:\.map)?$/.test(e.name) && !outputs.has(path)) rmSync(path);
  }
};
removeStale(DIST);
// The public entry's modules must come as one chunk (see indexFirst): a split costs every
// thread a file and means a module escaped the rule.
const indexChunks = readFileSync(INDEX, 'utf8').match(/from\s+["']\.\/chunks\//g)?.length ?? 0;
if (indexChunks !== 1) throw new Error(`bundle.mjs: index.js imports ${indexChunks} chunks, not one`);
writeFileSync(STAMP, '');
