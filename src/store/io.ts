// Small filesystem helpers shared by the journal, the snapshot and the lock.
// Nothing in a data dir is reached through a symlink: a user who can write in the dir
// must not be able to point a write (or a read) of a process running as someone else,
// e.g. root, at another file. Files are created exclusively (O_EXCL: a link in the way
// fails instead of being followed) and existing ones are opened with O_NOFOLLOW.
import { constants } from 'node:fs';
import { chown, lstat, mkdir, open, stat, unlink, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { CeleriacError } from '../errors.js';

/** Create a new file; fails with EEXIST when anything (a file or a link) has the name. */
export const CREATE_EXCLUSIVE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
/** Open an existing file for reading; fails with ELOOP on a symlink. */
export const READ_NOFOLLOW = constants.O_RDONLY | constants.O_NOFOLLOW;
/** Open an existing file for writing in place; fails with ELOOP on a symlink. */
export const WRITE_NOFOLLOW = constants.O_RDWR | constants.O_NOFOLLOW;

/** Who should own what this process creates in a data dir: its owner (differs only for root under CELERIAC_ALLOW_ROOT=1). */
export interface Owner {
  uid: number;
  gid: number;
}

/** Give a directory root just created to the data dir's owner, whose worker must be able to use it. */
async function adopt(path: string, owner: Owner | undefined): Promise<void> {
  if (owner && owner.uid !== process.getuid?.()) await chown(path, owner.uid, owner.gid);
}

/** Create `path` afresh: whatever had the name (a stale file, a planted link) is unlinked first, never followed. */
export async function createReplacing(path: string, flags = CREATE_EXCLUSIVE, mode = 0o600): Promise<FileHandle> {
  await unlink(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
  return open(path, flags | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
}

/** The whole content of an existing file, refusing a symlink. */
export async function readFileNoFollow(path: string): Promise<Buffer> {
  const fh = await open(path, READ_NOFOLLOW);
  try {
    return await fh.readFile();
  } finally {
    await fh.close();
  }
}

/**
 * Make `path` a private directory (0700) of the data dir's owner (the owner of the dir it
 * is in, checked before), or check that it already is one: a symlink or another user's
 * directory in its place is refused, not written into.
 */
export async function privateDir(path: string): Promise<void> {
  const parent = await stat(dirname(path));
  const owner: Owner = { uid: parent.uid, gid: parent.gid };
  const made = await mkdir(path, { mode: 0o700 }).then(
    () => true,
    (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
      return false;
    },
  );
  if (made) await adopt(path, owner);
  const info = await lstat(path);
  const uid = owner.uid;
  if (!info.isDirectory() || info.uid !== uid) {
    throw new CeleriacError(
      'DATA_DIR_UNSAFE',
      `${path} is ${info.isSymbolicLink() ? 'a symbolic link' : info.isDirectory() ? `a directory of uid ${info.uid}` : 'not a directory'}, where celeriac keeps a private directory: someone else wrote in the data dir; remove it and check the dir's permissions (chmod 700)`,
    );
  }
}

/**
 * Create `path` (it must not exist) with `text`, readable by this user only, and fsync it
 * before returning: the caller then moves it into place with rename() or link(), so that
 * the file appears complete in one atomic step.
 */
export async function writeNewFileDurably(path: string, text: string, owner?: Owner): Promise<void> {
  const fh = await open(path, CREATE_EXCLUSIVE, 0o600);
  try {
    if (owner && owner.uid !== process.getuid?.()) await fh.chown(owner.uid, owner.gid);
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** fsync a directory so that a created, renamed or removed entry in it is durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

const TRANSIENT = new Set(['EAGAIN', 'EBUSY', 'EINTR', 'EMFILE', 'ENFILE']);

/** Errors worth a quick retry: the resource was busy, not broken. */
export function isTransientIoError(err: unknown): boolean {
  return TRANSIENT.has((err as NodeJS.ErrnoException)?.code ?? '');
}

/**
 * Write all of `buf` at `position`: one write may take fewer bytes than asked without an
 * error (a nearly full disk, a file-size limit), and the rest must not be taken as written.
 */
export async function writeAt(fh: FileHandle, buf: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    const { bytesWritten } = await fh.write(buf, done, buf.length - done, position + done);
    if (bytesWritten === 0) throw Object.assign(new Error(`no byte written at ${position + done}`), { code: 'EIO' });
    done += bytesWritten;
  }
}

/** Turn a failed write into an error that says what happened and what to do. */
export function writeError(err: unknown, what: string): CeleriacError {
  if (err instanceof CeleriacError) return err;
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new CeleriacError(
      'DISK_FULL',
      `the disk is full: could not write ${what} (${code}). Nothing was accepted; free some space and try again.`,
      { cause: err },
    );
  }
  return new CeleriacError('STORE_WRITE_FAILED', `could not write ${what}: ${(err as Error)?.message ?? String(err)}`, { cause: err });
}
