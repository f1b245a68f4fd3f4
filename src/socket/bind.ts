// Binding a Unix socket in a data dir its owner holds: bound under a private temporary
// name, made 0600, then link()ed into place, so that the name never points at a socket
// others could reach before its mode is set; a file left there by a dead owner is
// replaced. Node unlinks a server's bind path when it closes: that is the temporary name,
// already gone, never the final one another owner may have made since.
import { randomBytes } from 'node:crypto';
import { chmod, link, lstat, unlink } from 'node:fs/promises';
import type { Server } from 'node:net';
import { join } from 'node:path';

/** Unix socket paths are limited to 108 bytes (sun_path) with the final NUL. */
const MAX_SOCKET_PATH = 107;

export interface BoundSocket {
  readonly path: string;
  close(): Promise<void>;
}

/** Whether `<dir>/<name>` (and its temporary name) fits in a socket address. */
export function socketPathFits(dir: string, name: string): boolean {
  return Buffer.byteLength(join(dir, `.${name}-00000000`)) <= MAX_SOCKET_PATH;
}

/** Listen on <dir>/<name>. Call only while owning the dir (its lock): an existing file there is stale and replaced. */
export async function bindInDir(server: Server, dir: string, name: string): Promise<BoundSocket> {
  const path = join(dir, name);
  const tmp = join(dir, `.${name}-${randomBytes(4).toString('hex')}`);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(tmp, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const closeServer = () => new Promise<void>((resolve) => server.close(() => resolve()));
  try {
    await chmod(tmp, 0o600);
    try {
      await link(tmp, path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      await unlink(path); // unlink removes a symlink itself, never its target
      await link(tmp, path);
    }
    const { ino } = await lstat(path);
    await unlink(tmp);
    return {
      path,
      close: async () => {
        // Only our own socket file is removed: one put in its place belongs to someone else.
        const now = await lstat(path).catch(() => undefined);
        if (now?.ino === ino) await unlink(path).catch(() => undefined);
        await closeServer();
      },
    };
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    await closeServer();
    throw err;
  }
}
