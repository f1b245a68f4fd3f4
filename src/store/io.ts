// Small filesystem helpers shared by the journal, the snapshot and the lock.
import { open } from 'node:fs/promises';
import { CeleriacError } from '../errors.js';

/**
 * Create `path` (it must not exist) with `text`, readable by this user only, and fsync it
 * before returning: the caller then moves it into place with rename() or link(), so that
 * the file appears complete in one atomic step.
 */
export async function writeNewFileDurably(path: string, text: string): Promise<void> {
  const fh = await open(path, 'wx', 0o600);
  try {
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

/** Turn a failed write into an error that says what happened and what to do. */
export function writeError(err: unknown, what: string): CeleriacError {
  if (err instanceof CeleriacError) return err;
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new CeleriacError('DISK_FULL', `the disk is full: could not write ${what} (${code}). Nothing was accepted; free some space and try again.`, { cause: err });
  }
  return new CeleriacError('STORE_WRITE_FAILED', `could not write ${what}: ${(err as Error)?.message ?? String(err)}`, { cause: err });
}
