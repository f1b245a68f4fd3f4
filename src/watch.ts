// Hot reload's eyes (watch: true): chokidar watches the task paths, plugin entry modules
// and every module file a worker imported; any change, addition or removal, after a
// short debounce, calls `onChange` (the app's reload). Calls never overlap: changes seen
// while one runs make it run exactly once more afterwards.
import { stat } from 'node:fs/promises';
import { basename, resolve, sep } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';

export interface TaskWatcherOptions {
  /** Files and directories (watched recursively). */
  paths: string[];
  /** Directories never watched, such as the data dir when it lies inside a task directory. */
  exclude?: string[];
  /** Quiet time after the last change before `onChange` runs. Default 15 ms. */
  debounceMs?: number;
  onChange: () => Promise<void>;
  onError: (err: Error) => void;
}

/** Editors' swap, backup and safe-write files: changes to them are not changes to code. */
const SCRATCH = /(?:~|\.sw[a-p]|\.tmp|___jb_(?:tmp|old)___)$/;
/**
 * chokidar drops a second `change` of a file within 50 ms of the first; a write that
 * lands in that window (the second half of a save, a formatter rewriting the file just
 * after the editor saved it) would leave the old code running. So the files a reload
 * was for are looked at again this long after it began: changed since, reload again.
 */
const RECHECK_MS = 60;
/**
 * An editor saving in place truncates the file, then writes it: seen between the two, a
 * module is empty. Wait (a debounce at a time, at most this many times) for its content.
 */
const EMPTY_WAITS = 6;

export class TaskWatcher {
  private readonly fsw: FSWatcher;
  private readonly explicit: Set<string>;
  private readonly excluded: string[];
  private readonly debounceMs: number;
  /** Files changed since the last reload began. */
  private changed = new Set<string>();
  private readonly rechecks = new Set<NodeJS.Timeout>();
  private debounce: NodeJS.Timeout | undefined;
  private running = false;
  private again = false;
  private closed = false;
  private emptyWaits = 0;
  /** Resolves once the initial scan is done: changes from then on are seen. */
  readonly ready: Promise<void>;

  constructor(private readonly opts: TaskWatcherOptions) {
    this.debounceMs = opts.debounceMs ?? 15;
    this.explicit = new Set(opts.paths.map((p) => resolve(p)));
    this.excluded = (opts.exclude ?? []).map((d) => resolve(d));
    this.fsw = watch([...this.explicit], {
      ignoreInitial: true,
      // A save is one or two writes of a small file: waiting for the size to settle (polling) costs far more than it saves.
      awaitWriteFinish: false,
      ignored: (path) => this.ignored(path),
    });
    this.ready = new Promise((r) => this.fsw.once('ready', () => r()));
    this.fsw.on('all', (event, path) => {
      if (this.closed) return;
      if (event === 'add' || event === 'change') this.changed.add(path);
      this.schedule();
    });
    this.fsw.on('error', (err) => opts.onError(err as Error));
  }

  /** Also watch these files (modules a new generation imported through plugins). */
  add(paths: string[]): void {
    const fresh = paths.map((p) => resolve(p)).filter((p) => !this.explicit.has(p));
    if (fresh.length === 0 || this.closed) return;
    for (const p of fresh) this.explicit.add(p);
    this.fsw.add(fresh);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.debounce);
    for (const t of this.rechecks) clearTimeout(t);
    this.rechecks.clear();
    await this.fsw.close();
  }

  private ignored(path: string): boolean {
    if (this.explicit.has(path)) return false;
    if (this.excluded.some((d) => path === d || path.startsWith(d + sep))) return true;
    const name = basename(path);
    return name.startsWith('.') || name === 'node_modules' || SCRATCH.test(name);
  }

  private schedule(): void {
    if (this.closed) return;
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => void this.fire(), this.debounceMs);
  }

  private async fire(): Promise<void> {
    if (this.closed) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    const files = [...this.changed];
    this.changed.clear();
    try {
      const before = await Promise.all(files.map((f) => fingerprint(f)));
      if (before.some((f) => f.startsWith('0:')) && this.emptyWaits++ < EMPTY_WAITS) {
        for (const f of files) this.changed.add(f);
        this.again = false; // the rescheduled call covers changes seen meanwhile
        this.schedule();
        return;
      }
      this.emptyWaits = 0;
      const recheck = setTimeout(() => {
        this.rechecks.delete(recheck);
        void this.recheckFiles(files, before);
      }, RECHECK_MS);
      this.rechecks.add(recheck);
      await this.opts.onChange();
    } catch (err) {
      this.opts.onError(err as Error);
    } finally {
      this.running = false;
    }
    if (this.again) {
      this.again = false;
      await this.fire();
    }
  }

  private async recheckFiles(files: string[], before: string[]): Promise<void> {
    const now = await Promise.all(files.map((f) => fingerprint(f)));
    if (now.some((f, i) => f !== before[i])) this.schedule();
  }
}

/** Size and modification time, enough to tell that a file was written again. */
async function fingerprint(file: string): Promise<string> {
  try {
    const s = await stat(file);
    return `${s.size}:${s.mtimeMs}`;
  } catch {
    return 'gone';
  }
}
