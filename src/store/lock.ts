// One owner per data dir. The lock file holds the owner's pid and its process start
// time (so a recycled pid is not mistaken for a live owner). A lock left by a dead
// process is taken over by renaming it aside first: of two processes racing for the
// same stale lock only one rename succeeds. The file alone can be deleted: the owner
// also listens on <dir>/worker.sock for its whole life (owner-socket.ts), which a second
// opener probes after taking the LOCK file, and the owner checks every second that its
// dir, LOCK and socket are still the ones it made (else it stops: watch()).
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { link, lstat, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { hostname } from 'node:os';
import { CeleriacError } from '../errors.js';
import { readFileNoFollow, writeNewFileDurably } from './io.js';
import {
  isOwnerSocket,
  listenOwnerSocket,
  probeOwnerSocket,
  socketFits,
  SOCKET_FILE,
  type OwnerSocket,
  type Probe,
} from './owner-socket.js';

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
  /** Check every `everyMs` that the dir, its LOCK and socket are still this owner's; call `onLost` once if not. */
  watch(onLost: (err: CeleriacError) => void, everyMs?: number): void;
  release(): Promise<void>;
}

/** How often a running owner checks that its dir and lock are still its own. */
export const LOCK_CHECK_MS = 1000;

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
  if (owner && owner.pid > 0 && owner.host === hostname() && isAlive(owner)) return owner.pid;
  const probe = await probeOwnerSocket(dir);
  if (probe.live) return typeof probe.owner?.pid === 'number' ? probe.owner.pid : -1;
  return owner && owner.pid > 0 && isAlive(owner) ? owner.pid : undefined;
}

/** A live owner answered on the dir's socket although the LOCK file was ours to take (someone deleted it). */
function heldBySocket(dir: string, probe: Probe): CeleriacError {
  const pid = probe.live && typeof probe.owner?.pid === 'number' ? probe.owner.pid : undefined;
  if (pid === process.pid) {
    return new CeleriacError(
      'DATA_DIR_LOCKED',
      `data dir ${dir} is already open in this process (pid ${pid}): close the other app first, or use another dir`,
    );
  }
  return new CeleriacError(
    'DATA_DIR_LOCKED',
    `data dir ${dir} is in use by ${pid === undefined ? 'a live process' : `pid ${pid}`} (it answers on ${join(dir, SOCKET_FILE)}; its LOCK file was missing). ` +
      `One process owns a data dir at a time: stop that process, or point this one at another dir.`,
  );
}

export async function acquireLock(dir: string): Promise<DataDirLock> {
  const path = join(dir, LOCK_FILE);
  const me: LockOwner = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
  const start = processStart(process.pid);
  if (start !== undefined) me.start = start;
  const mine = JSON.stringify(me);

  for (let round = 0; round < 20; round++) {
    if (await tryCreate(path, me)) {
      // Only remove the lock if it is still ours.
      const dropLockFile = async () => {
        const text = await readFileNoFollow(path).then(
          (b) => b.toString('utf8'),
          () => undefined,
        );
        if (text === mine) await unlink(path).catch(() => undefined);
      };
      let socket: OwnerSocket | undefined;
      let made: Made;
      try {
        if (socketFits(dir)) {
          const listening = await listenOwnerSocket(dir, { ...me });
          if (!isOwnerSocket(listening)) throw heldBySocket(dir, listening.heldBy);
          socket = listening;
        }
        const d = await stat(dir);
        made = { lockIno: (await lstat(path)).ino, dir: { dev: d.dev, ino: d.ino } };
      } catch (err) {
        await socket?.close();
        await dropLockFile();
        throw err;
      }
      let timer: NodeJS.Timeout | undefined;
      return {
        path,
        watch(onLost, everyMs = LOCK_CHECK_MS) {
          let checking = false;
          timer = setInterval(() => {
            if (checking) return;
            checking = true;
            void lostBecause(dir, made, socket)
              .then((why) => {
                if (why === undefined || timer === undefined) return;
                clearInterval(timer);
                timer = undefined;
                onLost(
                  new CeleriacError(
                    'DATA_DIR_LOST',
                    `data dir ${dir} is no longer this worker's (pid ${process.pid}): ${why}. It stopped accepting jobs so that no second owner's writes interleave with its own; ` +
                      `find out who did this, then restart the worker (jobs acknowledged before are in the journal if the dir still is)`,
                  ),
                );
              })
              .catch(() => undefined) // a check that could not run (EMFILE, EIO): the next one tries again
              .finally(() => (checking = false));
          }, everyMs);
          timer.unref();
        },
        async release() {
          clearInterval(timer);
          timer = undefined;
          await socket?.close();
          await dropLockFile();
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
          `One process owns a data dir at a time: stop that process, or point this one at another dir.` +
          (owner.host === me.host
            ? ''
            : ` If nothing runs there any more (a replaced container gets a new hostname), release the lock: celeriac doctor --release-lock`),
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

interface Made {
  lockIno: number;
  dir: { dev: number; ino: number };
}

/** Why the dir, its LOCK or its socket is no longer what this owner made, or undefined when all is as it was. */
async function lostBecause(dir: string, made: Made, socket: OwnerSocket | undefined): Promise<string | undefined> {
  const gone = (err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return undefined;
    throw err;
  };
  const d = await stat(dir).catch(gone);
  if (!d) return 'the dir was deleted';
  if (d.dev !== made.dir.dev || d.ino !== made.dir.ino) return 'the dir was replaced by another one';
  const lock = await lstat(join(dir, LOCK_FILE)).catch(gone);
  if (!lock) return `its ${LOCK_FILE} file was removed`;
  if (lock.ino !== made.lockIno) return `its ${LOCK_FILE} file was replaced`;
  if (socket) {
    const s = await lstat(socket.path).catch(gone);
    if (!s) return `its socket ${SOCKET_FILE} was removed`;
    if (s.ino !== socket.ino) return `its socket ${SOCKET_FILE} was replaced`;
  }
  return undefined;
}

export interface LockState {
  /** A live owner holds the dir: its socket answers, or its LOCK names a live process of this host. */
  live: boolean;
  pid?: number;
  /** What the LOCK file says, when there is one. */
  file?: { pid: number; host: string; since: string };
  thisHost: string;
}

/** Who holds `dir`, for doctor: the socket's answer first, then the LOCK file. */
export async function inspectLock(dir: string): Promise<LockState> {
  const probe = await probeOwnerSocket(dir);
  const owner = await readOwner(join(dir, LOCK_FILE));
  const file = owner ? { pid: owner.pid, host: owner.host, since: owner.since } : undefined;
  const thisHost = hostname();
  if (probe.live)
    return { live: true, ...(typeof probe.owner?.pid === 'number' ? { pid: probe.owner.pid } : {}), ...(file ? { file } : {}), thisHost };
  const sameHostLive = owner !== undefined && owner.pid > 0 && owner.host === thisHost && isAlive(owner);
  return { live: sameHostLive, ...(sameHostLive ? { pid: owner.pid } : {}), ...(file ? { file } : {}), thisHost };
}

/**
 * `celeriac doctor --release-lock`: remove a LOCK no live process on this machine holds
 * (its socket refuses connections, and its pid, if of this host, is gone). Returns what it
 * removed, or undefined when there was no LOCK. A LOCK of another host is released too:
 * that host cannot be asked, so the operator answers for it (documented).
 */
export async function releaseStaleLock(dir: string): Promise<{ pid: number; host: string; since: string } | undefined> {
  const state = await inspectLock(dir);
  if (state.live) {
    throw new CeleriacError(
      'DATA_DIR_LOCKED',
      `data dir ${dir} is held by a running worker (pid ${state.pid ?? 'unknown'}) on this machine: the lock is not stale. Stop that worker instead`,
    );
  }
  const path = join(dir, LOCK_FILE);
  if (state.file) {
    const aside = `${path}.released-${process.pid}-${randomBytes(4).toString('hex')}`;
    try {
      await rename(path, aside);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    const moved = await readOwner(aside);
    if (moved && moved.pid > 0 && moved.host === hostname() && isAlive(moved)) {
      // A worker took the dir over between the look and the move: give its LOCK back.
      await link(aside, path).catch(() => undefined);
      await unlink(aside).catch(() => undefined);
      throw new CeleriacError('DATA_DIR_LOCKED', `data dir ${dir} was just taken by pid ${moved.pid}: left as it is`);
    }
    await unlink(aside).catch(() => undefined);
  }
  // A socket file nobody listens on (the probe was refused) goes too.
  if (!(await probeOwnerSocket(dir)).live) await unlink(join(dir, SOCKET_FILE)).catch(() => undefined);
  return state.file;
}
