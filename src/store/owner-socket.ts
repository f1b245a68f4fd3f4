// The owner's socket: <dir>/worker.sock, a Unix socket the owning process listens on for
// its whole life. The kernel, not a file's content, says whether it is held: a connect()
// reaches a live owner (which answers with who it is) and is refused once that process
// is gone, so the lock holds even when someone deletes the LOCK file.
//
// The socket is bound under a private temporary name and then link()ed into place (link
// fails when the name exists: one winner), because Node unlinks a Unix server's bind path
// when it closes, and that path must never be one another owner may have taken since.
import { randomBytes } from 'node:crypto';
import { chmod, link, lstat, unlink } from 'node:fs/promises';
import { createConnection, createServer, type Server } from 'node:net';
import { join } from 'node:path';

export const SOCKET_FILE = 'worker.sock';
/** Unix socket paths are limited to 108 bytes (sun_path) with the final NUL. */
const MAX_SOCKET_PATH = 107;
const PROBE_MS = 3000;

export interface OwnerSocket {
  readonly path: string;
  /** The socket file's inode, to tell it from one put in its place. */
  readonly ino: number;
  close(): Promise<void>;
}

/** What a connect() to the socket found: a live owner (and what it said about itself), or none. */
export type Probe = { live: true; owner: Record<string, unknown> | undefined } | { live: false };

/** Whether the dir's path is short enough for a socket in it (else the LOCK file alone guards it). */
export function socketFits(dir: string): boolean {
  return Buffer.byteLength(join(dir, `.${SOCKET_FILE}-00000000`)) <= MAX_SOCKET_PATH;
}

/** Ask whoever listens on the dir's socket who it is. No socket file, or a refused connect: no live owner. */
export function probeOwnerSocket(dir: string): Promise<Probe> {
  return new Promise((resolve) => {
    const conn = createConnection(join(dir, SOCKET_FILE));
    let text = '';
    let connected = false;
    const done = (p: Probe) => {
      clearTimeout(timer);
      conn.destroy();
      resolve(p);
    };
    // A live owner whose event loop is busy may answer late: connected is enough to know it lives.
    const timer = setTimeout(() => done(connected ? { live: true, owner: undefined } : { live: false }), PROBE_MS);
    conn.setEncoding('utf8');
    conn.on('connect', () => (connected = true));
    conn.on('data', (d: string) => (text += d));
    conn.on('end', () => {
      let owner: Record<string, unknown> | undefined;
      try {
        owner = JSON.parse(text) as Record<string, unknown>;
      } catch {
        owner = undefined;
      }
      done({ live: true, owner });
    });
    conn.on('error', () => done(connected ? { live: true, owner: undefined } : { live: false }));
  });
}

/**
 * Listen on <dir>/worker.sock. Returns undefined when the name is taken by a live owner
 * (the caller refuses to open the dir); a socket left by a dead process is replaced.
 * Call only while holding the dir's LOCK file, which keeps two starters from replacing
 * the same stale socket at once.
 */
export async function listenOwnerSocket(dir: string, greeting: Record<string, unknown>): Promise<OwnerSocket | { heldBy: Probe }> {
  const path = join(dir, SOCKET_FILE);
  const tmp = join(dir, `.${SOCKET_FILE}-${randomBytes(4).toString('hex')}`);
  const server = createServer((conn) => {
    conn.on('error', () => undefined);
    conn.end(`${JSON.stringify(greeting)}\n`);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(tmp, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.unref(); // the lock must not keep the process alive
  const closeServer = () => new Promise<void>((resolve) => server.close(() => resolve()));
  try {
    await chmod(tmp, 0o600);
    for (let attempt = 0; ; attempt++) {
      try {
        await link(tmp, path);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw err;
      }
      const probe = await probeOwnerSocket(dir);
      if (probe.live) {
        await unlink(tmp).catch(() => undefined);
        await closeServer();
        return { heldBy: probe };
      }
      await unlink(path).catch(() => undefined); // left by a process that is gone
    }
    const { ino } = await lstat(path);
    await unlink(tmp);
    return { path, ino, close: () => closeOwned(path, ino, closeServer) };
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    await closeServer();
    throw err;
  }
}

async function closeOwned(path: string, ino: number, closeServer: () => Promise<void>): Promise<void> {
  // Only our own socket file is removed: one put in its place belongs to someone else.
  const now = await lstat(path).catch(() => undefined);
  if (now?.ino === ino) await unlink(path).catch(() => undefined);
  await closeServer();
}

export function isOwnerSocket(x: OwnerSocket | { heldBy: Probe }): x is OwnerSocket {
  return 'ino' in x;
}
