// Jobs and commands from other processes (the CLI, scripts, a second app). One process
// owns a data dir; everyone else hands work in through <dir>/inbox: a message is written
// to a dot-file, fsync'd, renamed to its final name (atomic) and the directory fsync'd —
// so once submit() returns, the message survives a crash of either side. The owner
// commits a message's jobs to its journal and only then deletes the file: a crash in
// between re-reads it, and job ids make the second reading a no-op.
import { randomBytes } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { CeleriacError } from './errors.js';
import type { NewJob } from './jobs.js';
import { fsyncDir, writeError, writeNewFileDurably } from './store/io.js';

export const INBOX_DIR = 'inbox';
export const REJECTED_DIR = 'inbox-rejected';
const MESSAGE = /^\d{13}-\d+-[0-9a-f]{8}\.json$/;

export type InboxMessage =
  | { v: 1; kind: 'send'; jobs: NewJob[] }
  | { v: 1; kind: 'cancel'; ids: string[] }
  | { v: 1; kind: 'purge'; states: string[] };

/** Durably hand a message to the owner of `dir` (running or not). Returns the message file's path. */
export async function submitToInbox(dir: string, message: InboxMessage): Promise<string> {
  const inbox = join(dir, INBOX_DIR);
  await mkdir(inbox, { recursive: true, mode: 0o700 });
  const name = `${Date.now()}-${process.pid}-${randomBytes(4).toString('hex')}.json`;
  const tmp = join(inbox, `.${name}.tmp`);
  const final = join(inbox, name);
  try {
    await writeNewFileDurably(tmp, JSON.stringify(message));
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
  const uid = process.getuid?.();
  const out: InboxEntry[] = [];
  for (const name of names) {
    const file = join(inbox, name);
    try {
      const info = await stat(file);
      if (uid !== undefined && info.uid !== uid) {
        await rejectMessage(dir, file, `written by uid ${info.uid}, not by this process's user (uid ${uid}): only the data dir's owner may hand in jobs`);
        onReject(file, `foreign owner uid ${info.uid}`);
        continue;
      }
      const message = parseMessage(await readFile(file, 'utf8'));
      out.push({ file, message });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // taken meanwhile
      const reason = (err as Error).message;
      await rejectMessage(dir, file, reason);
      onReject(file, reason);
    }
  }
  return out;
}

function parseMessage(text: string): InboxMessage {
  const m = JSON.parse(text) as InboxMessage;
  if (m?.v !== 1) throw new CeleriacError('UNSUPPORTED_FORMAT', `inbox message has version ${String((m as { v?: unknown })?.v)}; this celeriac reads version 1`);
  if (m.kind === 'send' && Array.isArray(m.jobs)) return m;
  if (m.kind === 'cancel' && Array.isArray(m.ids)) return m;
  if (m.kind === 'purge' && Array.isArray(m.states)) return m;
  throw new CeleriacError('INVALID_ARGS', `inbox message of unknown shape (kind ${JSON.stringify((m as { kind?: unknown }).kind)})`);
}

/** Move a message the owner will not apply aside, with the reason beside it. */
export async function rejectMessage(dir: string, file: string, reason: string): Promise<void> {
  const aside = join(dir, REJECTED_DIR);
  await mkdir(aside, { recursive: true, mode: 0o700 });
  const base = file.slice(file.lastIndexOf('/') + 1);
  await rename(file, join(aside, base)).catch(() => undefined);
  const fh = await open(join(aside, `${base}.reason.txt`), 'w', 0o600);
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
    await mkdir(inbox, { recursive: true, mode: 0o700 });
    await this.drain();
    if (this.stopped) return;
    try {
      this.watcher = watch(inbox, () => void this.drain());
      this.watcher.on('error', () => undefined);
      this.watcher.unref();
    } catch {
      // No change events here: the poll below still picks messages up.
    }
    this.poll = setInterval(() => void this.drain(), pollMs);
    this.poll.unref();
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
        if (err instanceof CeleriacError && err.code !== 'DISK_FULL' && err.code !== 'STORE_WRITE_FAILED' && err.code !== 'STORE_FAILED' && err.code !== 'APP_CLOSED') {
          this.log.warn(`inbox message ${file} rejected: ${err.message}`);
          await rejectMessage(this.dir, file, err.message);
          continue;
        }
        // Not the message's fault (disk full, closing): leave it for a later pass.
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
      const m = parseMessage(await readFile(join(inbox, name), 'utf8'));
      if (m.kind === 'send') jobs.push(...m.jobs.filter((j) => typeof j?.id === 'string' && typeof j.task === 'string' && typeof j.args === 'string'));
    } catch {
      // Taken by the owner meanwhile, or not a message: nothing to show.
    }
  }
  return jobs;
}
