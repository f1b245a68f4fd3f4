// Node's compile cache for the worker threads (Node ≥ 22.1): each thread otherwise
// compiles celeriac and the task modules again, and on Node's type stripping loads its
// TypeScript stripper for the first .ts file. The cache is keyed by each file's content
// (Node checks it), so an edited module is compiled afresh.
//
// What the cache holds is run as code, so it must be ours alone: a directory of this
// user's, mode 0700, not a link — otherwise there is no cache, only slower starts.
import { lstatSync, mkdirSync } from 'node:fs';
import module from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let decided: { dir: string | undefined } | undefined;

/** The directory the threads keep their compile cache in; undefined when there is none (Node < 22.1, no uid, an unsafe dir). */
export function compileCacheDir(): string | undefined {
  decided ??= { dir: choose() };
  return decided.dir;
}

function choose(): string | undefined {
  if (typeof (module as { enableCompileCache?: unknown }).enableCompileCache !== 'function') return undefined;
  if (process.env.NODE_COMPILE_CACHE) return undefined; // the user's own choice applies to every thread already
  const uid = process.getuid?.();
  if (uid === undefined) return undefined;
  const base = join(tmpdir(), `celeriac-${uid}`);
  const dir = join(base, 'compile-cache');
  for (const d of [base, dir]) {
    try {
      mkdirSync(d, { mode: 0o700 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') return undefined;
    }
    const st = lstatSync(d, { throwIfNoEntry: false });
    if (!st || !st.isDirectory() || st.uid !== uid || (st.mode & 0o077) !== 0) return undefined;
  }
  return dir;
}
