// Who may open a data dir. Like OpenSSH's StrictModes and PostgreSQL's data directory
// check: the dir must belong to the user celeriac runs as and be writable by that user
// only, or another local user could plant files in it. Root is refused on another user's
// dir (what root creates there, that user's worker could not open) unless the operator
// says so with CELERIAC_ALLOW_ROOT=1.
import { readFileSync } from 'node:fs';
import { chown, mkdir, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { CeleriacError } from '../errors.js';

export const ALLOW_ROOT_ENV = 'CELERIAC_ALLOW_ROOT';

export interface DirOwner {
  uid: number;
  gid: number;
}

const allowRoot = () => process.env[ALLOW_ROOT_ENV] === '1';

/** "uid 1000 (alice)", or "uid 1000" when /etc/passwd has no name for it. */
export function userName(uid: number): string {
  try {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const [name, , id] = line.split(':');
      if (name && Number(id) === uid && id !== '') return `uid ${uid} (${name})`;
    }
  } catch {
    // No passwd file (a minimal container): the number alone.
  }
  return `uid ${uid}`;
}

const runAs = (uid: number) => {
  const named = /\((.+)\)$/.exec(userName(uid))?.[1];
  return named ? `run celeriac as ${named} (e.g. sudo -u ${named} celeriac ...)` : `run celeriac as uid ${uid}`;
};

/** Why this process must not open `dir` (it exists), or undefined when it may. */
export async function dataDirProblem(dir: string): Promise<string | undefined> {
  const info = await stat(dir);
  if (!info.isDirectory()) return `data dir ${dir} is not a directory: point "dir" (--dir) at a directory`;
  const uid = process.getuid?.();
  if (uid !== undefined && info.uid !== uid) {
    if (uid !== 0)
      return `permission denied on data dir ${dir}: it belongs to ${userName(info.uid)}, not to this user (${userName(uid)}): ${runAs(info.uid)}, or use a dir of your own`;
    if (!allowRoot()) {
      return (
        `data dir ${dir} belongs to ${userName(info.uid)}, and this process runs as root: ${runAs(info.uid)}. ` +
        `Files root wrote there could not be opened by that user's worker; to act as root anyway (e.g. a repair), set ${ALLOW_ROOT_ENV}=1 and chown -R ${info.uid}:${info.gid} ${dir} afterwards`
      );
    }
  }
  if ((info.mode & 0o022) !== 0) {
    return `data dir ${dir} is writable by its ${info.mode & 0o002 ? 'world' : 'group'} (mode ${(info.mode & 0o777).toString(8).padStart(4, '0')}): another local user could plant files in it. Fix: chmod 700 ${dir}`;
  }
  return undefined;
}

/**
 * Check the data dir before writing in it, creating it (0700) when missing. Returns its
 * owner. Refuses, with the reason and the fix, a dir this process must not write in; and
 * refuses to create one as root inside another user's directory (the app user's worker
 * could not open a root-owned dir), unless CELERIAC_ALLOW_ROOT=1.
 */
export async function ensureDataDir(dir: string): Promise<DirOwner> {
  const found = await stat(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (!found) {
    const parent = process.getuid?.() === 0 ? await nearestExisting(dirname(dir)) : undefined;
    if (parent && parent.uid !== 0) {
      if (!allowRoot()) {
        throw new CeleriacError(
          'DATA_DIR_UNSAFE',
          `refusing to create data dir ${dir} as root: ${parent.path} belongs to ${userName(parent.uid)}, whose worker could not open a dir root creates. ` +
            `${runAs(parent.uid)} (or start the worker first), or set ${ALLOW_ROOT_ENV}=1 to create it for that user as root`,
        );
      }
      // Forced: the dir is made for the user who owns the place it is in, as that user's worker expects.
      await mkdir(dir, { mode: 0o700 });
      await chown(dir, parent.uid, parent.gid);
    } else {
      await mkdir(dir, { recursive: true, mode: 0o700 });
    }
  }
  const problem = await dataDirProblem(dir);
  if (problem) throw new CeleriacError('DATA_DIR_UNSAFE', problem);
  const info = await stat(dir);
  return { uid: info.uid, gid: info.gid };
}

async function nearestExisting(path: string): Promise<{ path: string; uid: number; gid: number }> {
  for (let p = path; ; p = dirname(p)) {
    const info = await stat(p).catch(() => undefined);
    if (info) return { path: p, uid: info.uid, gid: info.gid };
    if (dirname(p) === p) return { path: p, uid: 0, gid: 0 };
  }
}
