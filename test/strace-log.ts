// Reading an `strace -f -y -xx` log: each system call with where its entry and its
// return sit in the log. strace prints a call when it returns, or splits it into
// "<unfinished ...>" and "<... resumed>" when another thread's call comes between, so
// the log order of entries and returns follows what the threads did: a call that
// returned before another thread acted on its result is logged before that act.
import { spawnSync } from 'node:child_process';

export interface Syscall {
  tid: number;
  name: string;
  /** The argument text (the part of the line between the parentheses). */
  args: string;
  /** The return value text, e.g. "45" or "28</tmp/x/journal-00000001.log>" (fd paths decoded). */
  ret: string;
  /** Index of the log line where the call entered. */
  entry: number;
  /** Index of the log line where it returned. */
  exit: number;
}

/** Decode strace's -xx escapes (`\x2f`) in a string or an fd's path annotation. */
export function unhex(text: string): Buffer {
  return Buffer.from(text.replace(/\\x([0-9a-f]{2})/g, '$1'), 'hex');
}

/** The bytes of every quoted string in `args` (the data of write, pwrite64, pwritev), in order. */
export function writtenBytes(args: string): Buffer {
  return Buffer.concat([...args.matchAll(/"((?:\\x[0-9a-f]{2})*)"/g)].map((m) => unhex(m[1]!)));
}

/** The fd number and path of a call's first argument (`28</tmp/x/journal-00000001.log>`). */
export function fdArg(args: string): { fd: number; path: string } | undefined {
  const m = /^(\d+)<((?:\\x[0-9a-f]{2})*)>/.exec(args);
  return m ? { fd: Number(m[1]), path: unhex(m[2]!).toString() } : undefined;
}

/** The fd number and path a call returned (openat with -y). */
export function fdReturned(ret: string): { fd: number; path: string } | undefined {
  return fdArg(ret);
}

export function parseStrace(log: string): Syscall[] {
  const calls: Syscall[] = [];
  const pending = new Map<number, { name: string; head: string; entry: number }>();
  const lines = log.split('\n');
  const finish = (tid: number, name: string, rest: string, entry: number, exit: number) => {
    // rest: "args) = ret" (ret may carry an error name and text after it)
    const m = /^(.*)\)\s+=\s+(.*)$/s.exec(rest);
    if (m) calls.push({ tid, name, args: m[1]!, ret: m[2]!, entry, exit });
  };
  lines.forEach((line, i) => {
    const m = /^(\d+)\s+(.*)$/.exec(line);
    if (!m) return;
    const tid = Number(m[1]);
    const text = m[2]!;
    const resumed = /^<\.\.\. (\w+) resumed>(.*)$/s.exec(text);
    if (resumed) {
      const open = pending.get(tid);
      pending.delete(tid);
      if (open && open.name === resumed[1]) finish(tid, open.name, open.head + resumed[2]!, open.entry, i);
      return;
    }
    const call = /^(\w+)\((.*)$/s.exec(text);
    if (!call) return;
    const unfinished = /^(.*?)\s*<unfinished \.\.\.>$/s.exec(call[2]!);
    if (unfinished) pending.set(tid, { name: call[1]!, head: unfinished[1]!, entry: i });
    else finish(tid, call[1]!, call[2]!, i, i);
  });
  return calls;
}

/** Whether strace can run here (installed, and ptrace allowed). */
export function straceWorks(): { ok: true } | { ok: false; why: string } {
  const r = spawnSync('strace', ['-qq', '-e', 'trace=none', 'true'], { encoding: 'utf8' });
  if (r.error) return { ok: false, why: `strace is not installed (${(r.error as NodeJS.ErrnoException).code}): apt-get install strace` };
  if (r.status !== 0) return { ok: false, why: `strace cannot trace here: ${r.stderr.trim()}` };
  return { ok: true };
}
