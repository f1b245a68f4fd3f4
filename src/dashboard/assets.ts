// The page and its scripts, served from the package itself (no CDN, no build step): our
// files from public/, and preact, htm and uPlot from their installed packages. Read once,
// kept in memory (about 170 kB).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Asset {
  body: Buffer;
  type: string;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
};

/** public/ next to this file (src/), or in src/ when this runs from dist/. */
function publicDir(): string {
  const here = fileURLToPath(new URL('./public/', import.meta.url));
  if (existsSync(here)) return here;
  return fileURLToPath(new URL('../../src/dashboard/public/', import.meta.url));
}

function packageDir(require: NodeRequire, name: string): string {
  // Some packages export their package.json, some do not: walk up from the entry point.
  let dir = dirname(require.resolve(name));
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return dir;
}

function vendor(): Map<string, Asset> {
  const require = createRequire(import.meta.url);
  const preact = packageDir(require, 'preact');
  const htm = packageDir(require, 'htm');
  const uplot = packageDir(require, 'uplot');
  const read = (file: string) => readFileSync(file);
  // The browser resolves no bare specifiers (an import map would need an inline script, which the CSP forbids).
  const hooks = read(join(preact, 'hooks/dist/hooks.mjs'))
    .toString('utf8')
    .replace(/from\s*["']preact["']/g, 'from"./preact.js"');
  return new Map<string, Asset>([
    ['vendor/preact.js', { body: read(join(preact, 'dist/preact.mjs')), type: TYPES['.js']! }],
    ['vendor/hooks.js', { body: Buffer.from(hooks), type: TYPES['.js']! }],
    ['vendor/htm.js', { body: read(join(htm, 'dist/htm.mjs')), type: TYPES['.js']! }],
    ['vendor/uplot.js', { body: read(join(uplot, 'dist/uPlot.esm.js')), type: TYPES['.js']! }],
    ['vendor/uplot.css', { body: read(join(uplot, 'dist/uPlot.min.css')), type: TYPES['.css']! }],
  ]);
}

let cache: Map<string, Asset> | undefined;

/** Every asset by its path under `<basePath>/assets/`; `index.html` is the page itself. */
export function assets(): Map<string, Asset> {
  if (cache) return cache;
  const dir = publicDir();
  const all = vendor();
  for (const name of readdirSync(dir)) {
    const type = TYPES[extname(name)];
    if (type) all.set(name, { body: readFileSync(join(dir, name)), type });
  }
  cache = all;
  return all;
}
