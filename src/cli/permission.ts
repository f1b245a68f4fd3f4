// A command run by a user who may not read or write the data dir: name the path and the
// user who can, instead of printing an EACCES stack.
import { readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';

/** The login name of `uid` from /etc/passwd, else "uid N". */
function userName(uid: number): string {
  try {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const [name, , id] = line.split(':');
      if (name && id === String(uid)) return name;
    }
  } catch {
    // no passwd file: fall back to the number
  }
  return `uid ${uid}`;
}

/** The owner of `path`, or of its nearest ancestor this process may look at. */
function ownerOf(path: string): { path: string; uid: number } | undefined {
  for (let p = path; ; p = dirname(p)) {
    try {
      return { path: p, uid: statSync(p).uid };
    } catch {
      if (dirname(p) === p) return undefined;
    }
  }
}

/** The message for a permission error on the data dir `dir`, or undefined for any other error. */
export function permissionMessage(err: unknown, dir: string | undefined): string | undefined {
  const e = err as NodeJS.ErrnoException;
  if (!e || (e.code !== 'EACCES' && e.code !== 'EPERM')) return undefined;
  const path = e.path ?? dir;
  if (path === undefined) return undefined;
  const owner = ownerOf(dir ?? path);
  const who = owner ? `run as ${userName(owner.uid)} (the owner of ${owner.path})` : `run as the user who owns ${dir ?? path}`;
  return `permission denied on ${path}: ${who}; this process runs as ${userName(process.getuid?.() ?? -1)}`;
}
