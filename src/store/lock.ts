// One owner per data dir. The lock file holds the owner's pid and its process start
// time (so a recycled pid is not mistaken for a live owner). A lock left by a dead
// process is taken over by renaming it aside first: of two processes racing for the
// same stale lock only one rename succeeds.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { link, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { hostname } from 'node:os';
import { CeleriacError } from '../errors.js';
import { readFileNoFollow, writeNewFileDurably } from './io.js';

export const LOCK_FILE = 'LOCK';

interface LockOwner {
  pid: number;
  /** Start time of the process in clock ticks since boot (/proc/PID/stat field 22), when known. */
  start?: string;
  host: string;
  since: string;
}

export interface DataDirLock {
  readonly path: string;
  release(): Promise<void>;
}

function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19];
  } catch {
    return undefined;
  }
}

function isAlive(owner: LockOwner): boolean {
  if (owner.host !== hostname()) return true; // cannot check another machine: assume it holds the lock
  try {
    process.kill(owner.pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  if (owner.start === undefined) return true;
  const now = processStart(owner.pid);
  return now === undefined || now === owner.start;
}

async function readOwner(path: string): Promise<LockOwner | undefined> {
  let text: string;
  try {
    text = (await readFileNoFollow(path)).toString('utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const owner = JSON.parse(text) as LockOwner;
    if (typeof owner.pid === 'number') return owner;
  } catch {
    // A lock file cut short by a crash while it was written: its writer died before owning anything.
  }
  return { pid: -1, host: hostname(), since: 'unknown' };
}

async function tryCreate(path: string, owner: LockOwner): Promise<boolean> {
  // Write the owner to a private file first, then link() it into place: the LOCK appears
  // with its content in one atomic step (link fails with EEXIST if a LOCK exists). With
  // open('wx') and a write after it, a racing opener could read the LOCK still empty,
  // judge it stale (unparseable), move it aside and delete it: two owners of one dir.
  const tmp = `${path}.new-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await writeNewFileDurably(tmp, JSON.stringify(owner));
    await link(tmp, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
}

/** The pid of the live process that owns `dir`, or undefined when none does (no lock, or a stale one). */
export async function lockHolder(dir: string): Promise<number | undefined> {
  const owner = await readOwner(join(dir, LOCK_FILE));
  return owner && owner.pid > 0 && isAlive(owner) ? owner.pid : undefined;
}

export async function acquireLock(dir: string): Promise<DataDirLock> {
  const path = join(dir, LOCK_FILE);
  const me: LockOwner = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
  const start = processStart(process.pid);
  if (start !== undefined) me.start = start;
  const mine = JSON.stringify(me);

  for (let round = 0; round < 20; round++) {
    if (await tryCreate(path, me)) {
      return {
        path,
        async release() {
          // Only remove the lock if it is still ours.
          const text = await readFileNoFollow(path).then((b) => b.toString('utf8'), () => undefined);
          if (text === mine) await unlink(path).catch(() => undefined);
        },
      };
    }
    const owner = await readOwner(path);
    if (!owner) continue; // released between our attempt and the read: try again
    if (owner.pid === process.pid && owner.host === me.host) {
      throw new CeleriacError(
        'DATA_DIR_LOCKED',
        `data dir ${dir} is already open in this process (pid ${owner.pid}): close the other app first, or use another dir`,
      );
    }
    if (owner.pid > 0 && isAlive(owner)) {
      throw new CeleriacError(
        'DATA_DIR_LOCKED',
        `data dir ${dir} is in use by pid ${owner.pid}${owner.host === me.host ? '' : ` on ${owner.host}`} (since ${owner.since}). ` +
          `One process owns a data dir at a time: stop that process, or point this one at another dir.`,
      );
    }
    // Stale: move it aside, then check that what we moved is the stale lock we judged.
    const aside = `${path}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
    try {
      await rename(path, aside);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // someone else took it over
      throw err;
    }
    const moved = await readOwner(aside);
    if (moved && moved.pid > 0 && isAlive(moved)) {
      // We raced and moved a fresh lock of a live process: give it back.
      await link(aside, path).catch(() => undefined);
    }
    await unlink(aside).catch(() => undefined);
  }
  throw new CeleriacError('DATA_DIR_LOCKED', `could not lock data dir ${dir}: the lock kept changing hands; try again`);
}
