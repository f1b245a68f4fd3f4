// Where the scheduler keeps, per schedule, the last slot it handled: a small durable
// value by key. A backend offers readMark/writeMark (the file journal, a broker); until
// one does, FileMarks keeps them in one file of the data dir, replaced atomically.
import { constants } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { CeleriacError } from '../errors.js';
import { createReplacing, readFileNoFollow } from '../store/io.js';

export interface MarkStore {
  readMark(key: string): Promise<string | undefined>;
  /** Durable once the promise resolves. */
  writeMark(key: string, value: string): Promise<void>;
}

export const MARKS_FILE = 'marks.json';

/** Read the marks file without owning the data dir (for `celeriac schedules`). */
export async function readMarksFile(dir: string): Promise<Map<string, string>> {
  const path = join(dir, MARKS_FILE);
  let text: string;
  try {
    text = (await readFileNoFollow(path)).toString('utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw err;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new CeleriacError('CORRUPT_JOURNAL', `${path} is not valid JSON (${(err as Error).message}): it holds the schedules' last slots; delete it to treat every schedule as new`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed) || Object.values(parsed).some((v) => typeof v !== 'string')) {
    throw new CeleriacError('CORRUPT_JOURNAL', `${path} is not an object of strings: it holds the schedules' last slots; delete it to treat every schedule as new`);
  }
  return new Map(Object.entries(parsed as Record<string, string>));
}

/** Marks in `<dir>/marks.json`. Only the process that owns the data dir (holds its lock) writes it. */
export class FileMarks implements MarkStore {
  private writing: Promise<void> = Promise.resolve();
  private constructor(
    private readonly dir: string,
    private readonly values: Map<string, string>,
  ) {}

  static async open(dir: string): Promise<FileMarks> {
    return new FileMarks(dir, await readMarksFile(dir));
  }

  async readMark(key: string): Promise<string | undefined> {
    return this.values.get(key);
  }

  writeMark(key: string, value: string): Promise<void> {
    this.values.set(key, value);
    const text = JSON.stringify(Object.fromEntries(this.values));
    // One write at a time, in order: the file always ends with the latest values.
    const done = this.writing.then(() => this.replace(text));
    this.writing = done.catch(() => undefined);
    return done;
  }

  /** Write a new file beside the old one, sync it, rename it over, sync the dir. */
  private async replace(text: string): Promise<void> {
    const path = join(this.dir, MARKS_FILE);
    const tmp = `${path}.tmp`;
    const fh = await createReplacing(tmp);
    try {
      await fh.writeFile(text);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
    const dirHandle = await open(this.dir, constants.O_RDONLY | constants.O_DIRECTORY);
    try {
      await dirHandle.sync();
    } finally {
      await dirHandle.close();
    }
  }
}
