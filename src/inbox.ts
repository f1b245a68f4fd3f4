// Jobs and commands from other processes (the CLI, scripts, a second app). One process
// owns a data dir; everyone else hands work in through <dir>/inbox: a message is written
// to a dot-file, fsync'd, renamed to its final name (atomic) and the directory fsync'd —
// so once submit() returns, the message survives a crash of either side. The owner
// commits a message's jobs to its journal and only then deletes the file: a crash in
// between re-reads it, and job ids make the second reading a no-op.
import { randomBytes } from 'node:crypto';
import { constants, watch, type FSWatcher } from 'node:fs';
import { lstat, open, readdir, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { CeleriacError } from './errors.js';
import type { NewJob } from './jobs.js';
import { ensureDataDir } from './store/dir-trust.js';
import { createReplacing, fsyncDir, privateDir, writeError, writeNewFileDurably } from './store/io.js';

export const INBOX_DIR = 'inbox';
export const REJECTED_DIR = 'inbox-rejected';
const MESSAGE = /^\d{13}-\d+-[0-9a-f]{8}\.json$/;
/** The largest message the owner reads (a bigger batch is refused when submitted: split it). */
export const MAX_MESSAGE_BYTES = 256 * 1024 * 1024;
// No symlink is followed; a FIFO swapped in after the lstat() opens without waiting for a writer.
const READ_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY;

export type InboxMessage =
  | { v: 1; kind: 'send'; jobs: NewJob[] }
  | { v: 1; kind: 'cancel'; ids: string[] }
  | { v: 1; kind: 'purge'; states: string[] };

/** Durably hand a message to the owner of `dir` (running or not). Returns the message file's path. */
export async function submitToInbox(dir: string, message: InboxMessage): Promise<string> {
  const owner = await ensureDataDir(dir);
  const inbox = join(dir, INBOX_DIR);
  await privateDir(inbox);
  const text = JSON.stringify(message);
  if (Buffer.byteLength(text) > MAX_MESSAGE_BYTES) {
    throw new CeleriacError(
      'INVALID_ARGS',
      `inbox message of ${Buffer.byteLength(text)} bytes is over the limit of ${MAX_MESSAGE_BYTES}: send the jobs in smaller batches`,
    );
  }
  const name = `${Date.now()}-${process.pid}-${randomBytes(4).toString('hex')}.json`;
  const tmp = join(inbox, `.${name}.tmp`);
  const final = join(inbox, name);
  try {
    await writeNewFileDurably(tmp, text, owner);
    await rename(tmp, final);
    await fsyncDir(inbox);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw writeError(err, `inbox message in ${inbox}`);
  }
  return final;
}

export interface InboxEntry {
  file: string;
  message: InboxMessage;
}

/** Whether any message waits in the inbox (not read, not checked). */
export async function inboxHasMessages(dir: string): Promise<boolean> {
  try {
    return (await readdir(join(dir, INBOX_DIR))).some((n) => MESSAGE.test(n));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/** Messages waiting in the inbox, oldest first. Files from another user are moved aside, unread. */
export async function readInbox(dir: string, onReject: (file: string, reason: string) => void): Promise<InboxEntry[]> {
  const inbox = join(dir, INBOX_DIR);
  let names: string[];
  try {
    names = (await readdir(inbox)).filter((n) => MESSAGE.test(n)).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const out: InboxEntry[] = [];
  for (const name of names) {
    const file = join(inbox, name);
    try {
      const read = await readMessageFile(file);
      if (read.refused !== undefined) {
        await rejectMessage(dir, file, read.refused);
        onReject(file, read.refused);
        continue;
      }
      out.push({ file, message: parseMessage(read.text) });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // taken meanwhile
      const reason = (err as Error).message;
      await rejectMessage(dir, file, reason);
      onReject(file, reason);
    }
  }
  return out;
}

/**
 * Open a message once, without following a link, and judge the opened file itself (not
 * its path, which another user may change between two looks): a regular file of this
 * process's user, within the size limit. Anything else is refused, with the reason.
 */
async function readMessageFile(file: string): Promise<{ text: string; refused?: undefined } | { refused: string }> {
  // A first look without opening: a FIFO, device, directory or link is never opened for reading.
  const seen = await lstat(file);
  const before = refusal(seen);
  if (before) return { refused: before };
  let fh;
  try {
    fh = await open(file, READ_FLAGS);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') return { refused: 'is a symbolic link: inbox messages must be regular files' };
    throw err;
  }
  try {
    const info = await fh.stat();
    const now = refusal(info);
    if (now) return { refused: now };
    const buf = Buffer.allocUnsafe(info.size + 1);
    let got = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, got, buf.length - got, got);
      if (bytesRead === 0) break;
      got += bytesRead;
      if (got === buf.length)
        return { refused: `grew while being read (over ${info.size} bytes): a message is written once, then renamed into the inbox` };
    }
    return { text: buf.toString('utf8', 0, got) };
  } finally {
    await fh.close();
  }
}

/** Why a file is not a message this process may read, or undefined when it is one. */
function refusal(info: { uid: number; size: number; isFile(): boolean; isSymbolicLink(): boolean }): string | undefined {
  if (info.isSymbolicLink()) return 'is a symbolic link: inbox messages must be regular files';
  if (!info.isFile()) return 'is not a regular file (a FIFO, device or directory): inbox messages must be regular files';
  const uid = process.getuid?.();
  if (uid !== undefined && info.uid !== uid) {
    return `written by uid ${info.uid}, not by this process's user (uid ${uid}): only the data dir's owner may hand in jobs`;
  }
  if (info.size > MAX_MESSAGE_BYTES) return `is ${info.size} bytes, over the limit of ${MAX_MESSAGE_BYTES}`;
  return undefined;
}

function parseMessage(text: string): InboxMessage {
  const m = JSON.parse(text) as InboxMessage;
  if (m?.v !== 1)
    throw new CeleriacError(
      'UNSUPPORTED_FORMAT',
      `inbox message has version ${String((m as { v?: unknown })?.v)}; this celeriac reads version 1`,
    );
  if (m.kind === 'send' && Array.isArray(m.jobs)) return m;
  if (m.kind === 'cancel' && Array.isArray(m.ids)) return m;
  if (m.kind === 'purge' && Array.isArray(m.states)) return m;
  throw new CeleriacError('INVALID_ARGS', `inbox message of unknown shape (kind ${JSON.stringify((m as { kind?: unknown }).kind)})`);
}

/** Move a message the owner will not apply aside, with the reason beside it. */
export async function rejectMessage(dir: string, file: string, reason: string): Promise<void> {
  const aside = join(dir, REJECTED_DIR);
  await privateDir(aside);
  const base = file.slice(file.lastIndexOf('/') + 1);
  await rename(file, join(aside, base)).catch(() => undefined);
  const fh = await createReplacing(join(aside, `${base}.reason.txt`));
  try {
    await fh.writeFile(`${reason}\n`);
  } finally {
    await fh.close();
  }
}

/** The message is applied (its effect is durable in the journal): remove it. */
export async function consumeMessage(file: string): Promise<void> {
  await unlink(file).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
}

/**
 * The owner's side: applies every message as it arrives (fs.watch, with a slow poll as
 * a safety net for filesystems without change events), one message at a time, in order.
 */
export class InboxConsumer {
  private watcher: FSWatcher | undefined;
  private poll: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;

  constructor(
    private readonly dir: string,
    /** Apply a message durably; throw a CeleriacError to reject it (nothing of it applied). */
    private readonly apply: (message: InboxMessage) => Promise<void>,
    private readonly log: { warn(m: string): void; error(m: string): void },
  ) {}

  /** Apply what is waiting now, then keep watching. */
  async start(pollMs = 1000): Promise<void> {
    const inbox = join(this.dir, INBOX_DIR);
    await privateDir(inbox);
    await this.drain();
    if (this.stopped) return;
    try {
      this.watcher = watch(inbox, () => this.drainInBackground());
      this.watcher.on('error', () => undefined);
      this.watcher.unref();
    } catch {
      // No change events here: the poll below still picks messages up.
    }
    this.poll = setInterval(() => this.drainInBackground(), pollMs);
    this.poll.unref();
  }

  /** A pass nobody awaits: a failure (e.g. a planted link where inbox-rejected/ should be) is logged, and the next pass tries again. */
  private drainInBackground(): void {
    this.drain().catch((err: unknown) => this.log.error(`inbox not read: ${(err as Error).message}`));
  }

  /** Apply every waiting message; concurrent calls fold into one more pass. */
  drain(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        await this.pass();
      } while (this.again && !this.stopped);
    })().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async pass(): Promise<void> {
    const entries = await readInbox(this.dir, (file, reason) => this.log.warn(`inbox message ${file} rejected: ${reason}`));
    for (const { file, message } of entries) {
      if (this.stopped) return;
      try {
        await this.apply(message);
      } catch (err) {
        if (
          err instanceof CeleriacError &&
          err.code !== 'DISK_FULL' &&
          err.code !== 'STORE_WRITE_FAILED' &&
          err.code !== 'STORE_FAILED' &&
          err.code !== 'APP_CLOSED' &&
          err.code !== 'DATA_DIR_LOST'
        ) {
          this.log.warn(`inbox message ${file} rejected: ${err.message}`);
          await rejectMessage(this.dir, file, err.message);
          continue;
        }
        // Not the message's fault (disk full, closing, the dir lost): leave it for a later pass.
        this.log.error(`inbox message ${file} not applied yet: ${(err as Error).message}`);
        return;
      }
      await consumeMessage(file);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.watcher?.close();
    clearInterval(this.poll);
    await this.running?.catch(() => undefined);
  }
}

/** Jobs submitted but not yet taken by the owner (for readers: shown as pending). */
export async function readInboxReadOnly(dir: string): Promise<NewJob[]> {
  const inbox = join(dir, INBOX_DIR);
  let names: string[];
  try {
    names = (await readdir(inbox)).filter((n) => MESSAGE.test(n)).sort();
  } catch {
    return [];
  }
  const jobs: NewJob[] = [];
  for (const name of names) {
    try {
      const read = await readMessageFile(join(inbox, name));
      if (read.refused !== undefined) continue; // the owner will move it aside
      const m = parseMessage(read.text);
      if (m.kind === 'send')
        jobs.push(...m.jobs.filter((j) => typeof j?.id === 'string' && typeof j.task === 'string' && typeof j.args === 'string'));
    } catch {
      // Taken by the owner meanwhile, or not a message: nothing to show.
    }
  }
  return jobs;
}
