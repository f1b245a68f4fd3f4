// The records a restart reads by the million — a job line of the snapshot, an add line of
// the journal — decoded straight from the file's bytes: no string for the whole line, no
// JSON.parse, no intermediate object; id and args become strings of their own (not
// slices that would keep the whole line alive in memory). Anything this does not
// expect (an escape inside a string, an error object, a fraction) makes it return
// undefined, and the caller decodes the line the general way (decodeEvent), which also
// produces the errors. Both paths must agree exactly: test/codec.test.ts checks it.
import type { JobRecord, JobState, NewJob } from '../jobs.js';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const BRACE_OPEN = 0x7b;
const BRACE_CLOSE = 0x7d;
const BRACKET_OPEN = 0x5b;
const BRACKET_CLOSE = 0x5d;
const MINUS = 0x2d;

const STATES: { name: JobState; bytes: Buffer }[] = (
  ['pending', 'started', 'retrying', 'succeeded', 'failed', 'cancelled', 'expired'] as const
).map((name) => ({ name, bytes: Buffer.from(name) }));

/** The state named by buf[from, to), without making a string of it; undefined for an unknown name. */
function stateAt(buf: Buffer, from: number, to: number): JobState | undefined {
  for (const s of STATES) if (bytesEqual(buf, from, to, s.bytes)) return s.name;
  return undefined;
}

function bytesEqual(buf: Buffer, from: number, to: number, other: Uint8Array): boolean {
  if (to - from !== other.length) return false;
  for (let i = 0; i < other.length; i++) if (buf[from + i] !== other[i]) return false;
  return true;
}

/** What peek() found: the record's kind byte, its id's bytes buf[idFrom, idTo) (no escape in them), an add's priority (0 otherwise). */
export interface Peeked {
  kind: number;
  idFrom: number;
  idTo: number;
  priority: number;
}

export type FastRecord = { type: 'add'; job: NewJob } | { type: 'job'; job: JobRecord };

/** Field values of one line, reused from record to record. Number fields by key byte. */
class Fields {
  id: string | undefined;
  task: string | undefined;
  state: JobState | undefined;
  result: string | undefined;
  progress: string | undefined;
  queue: string | undefined;
  args: string | undefined;
  readonly nums = new Float64Array(128);
  readonly has = new Uint8Array(128);
  private readonly seen: number[] = [];

  reset(): void {
    this.id = this.task = this.state = this.result = this.progress = this.queue = this.args = undefined;
    for (const k of this.seen) this.has[k] = 0;
    this.seen.length = 0;
  }

  /** False for a key seen twice (JSON.parse would keep the last: leave that to it). */
  setNumber(key: number, value: number): boolean {
    if (this.has[key]) return false;
    this.has[key] = 1;
    this.nums[key] = value;
    this.seen.push(key);
    return true;
  }

  num(key: number): number | undefined {
    return this.has[key] ? this.nums[key] : undefined;
  }
}

/** The kind byte of a line that opens with `{"o":"` and is at least `minBytes` long; -1 otherwise. */
function recordKind(buf: Buffer, from: number, to: number, minBytes: number): number {
  if (
    to - from < minBytes ||
    buf[from] !== BRACE_OPEN ||
    buf[from + 1] !== QUOTE ||
    buf[from + 2] !== 0x6f ||
    buf[from + 3] !== QUOTE ||
    buf[from + 4] !== COLON ||
    buf[from + 5] !== QUOTE
  )
    return -1;
  return buf[from + 6]!;
}

/**
 * A decoder with a little memory: the task name of the previous line is reused when the
 * bytes match (a million jobs of a few tasks share a few strings, not a million copies).
 */
export class FastDecoder {
  private readonly f = new Fields();
  private lastTask: string | undefined;
  private lastTaskBytes: Buffer | undefined;
  private readonly peeked: Peeked = { kind: 0, idFrom: 0, idTo: 0, priority: 0 };

  /** Decode the JSON in buf[from, to) (no checksum, no newline), or undefined: use decodeEvent. */
  decode(buf: Buffer, from: number, to: number): FastRecord | undefined {
    // {"o":"j", or {"o":"a",
    const kind = recordKind(buf, from, to, 12);
    if ((kind !== 0x6a && kind !== 0x61) || buf[from + 7] !== QUOTE || buf[from + 8] !== COMMA) return undefined;
    if (buf[to - 1] !== BRACE_CLOSE) return undefined;
    const f = this.f;
    f.reset();
    let p = from + 9;
    for (;;) {
      // "k":
      if (p + 4 > to || buf[p] !== QUOTE || buf[p + 2] !== QUOTE || buf[p + 3] !== COLON) return undefined;
      const key = buf[p + 1]!;
      p += 4;
      if (key === 0x61 /* a: always last, the rest up to the closing brace */) {
        if (buf[p] !== BRACKET_OPEN || buf[to - 2] !== BRACKET_CLOSE) return undefined;
        f.args = buf.toString('utf8', p, to - 1);
        break;
      }
      const c = buf[p];
      let next: number;
      if (c === QUOTE) {
        const close = stringEnd(buf, p + 1, to);
        if (close < 0) return undefined;
        if (key === 0x69) f.id = buf.toString('utf8', p + 1, close);
        else if (key === 0x6e) f.task = this.taskName(buf, p + 1, close);
        else if (key === 0x73) {
          f.state = stateAt(buf, p + 1, close);
          if (f.state === undefined) return undefined;
        } else if (key === 0x76) f.result = buf.toString('utf8', p + 1, close);
        else if (key === 0x75 && kind === 0x6a) f.progress = buf.toString('utf8', p + 1, close);
        else if (key === 0x71) f.queue = buf.toString('utf8', p + 1, close);
        else return undefined;
        next = close + 1;
      } else {
        next = integerEnd(buf, p, to);
        if (next < 0 || !(kind === 0x61 ? ADD_NUMBERS : JOB_NUMBERS).has(key) || !f.setNumber(key, integerAt(buf, p, next)))
          return undefined;
      }
      if (buf[next] !== COMMA) return undefined;
      p = next + 1;
    }
    return kind === 0x61 ? this.add() : this.job();
  }

  /**
   * The job a journal record is about (where its id's bytes are: no string made), and an
   * add's priority, without decoding the rest (restart indexes the journal by job before it
   * decodes it); undefined: decode it whole. The result is reused by the next call.
   */
  peek(buf: Buffer, from: number, to: number): Readonly<Peeked> | undefined {
    // {"o":"x","i":"
    const kind = recordKind(buf, from, to, 16);
    if (
      !EVENT_KINDS.has(kind) ||
      buf[from + 7] !== QUOTE ||
      buf[from + 8] !== COMMA ||
      buf[from + 9] !== QUOTE ||
      buf[from + 10] !== 0x69 ||
      buf[from + 11] !== QUOTE ||
      buf[from + 12] !== COLON ||
      buf[from + 13] !== QUOTE
    )
      return undefined;
    const close = stringEnd(buf, from + 14, to);
    if (close < 0) return undefined;
    const out = this.peeked;
    out.kind = kind;
    out.idFrom = from + 14;
    out.idTo = close;
    out.priority = 0;
    if (kind !== 0x61) return out;
    // An add: its keys in order up to "p" (task name, times) — see encodeEvent.
    let p = close + 1;
    let priority: number | undefined;
    for (;;) {
      if (buf[p] !== COMMA || p + 5 > to || buf[p + 1] !== QUOTE || buf[p + 3] !== QUOTE || buf[p + 4] !== COLON) return undefined;
      const key = buf[p + 2]!;
      p += 5;
      if (key === 0x61 /* a: args, last */) {
        out.priority = priority ?? 0;
        return out;
      }
      if (buf[p] === QUOTE) {
        const end = stringEnd(buf, p + 1, to);
        if (end < 0 || (key !== 0x6e && key !== 0x71)) return undefined;
        p = end + 1;
        continue;
      }
      const end = integerEnd(buf, p, to);
      if (end < 0 || !ADD_NUMBERS.has(key)) return undefined;
      if (key === 0x70) {
        if (priority !== undefined) return undefined; // a key twice: JSON.parse keeps the last; let it
        priority = integerAt(buf, p, end);
      }
      p = end;
    }
  }

  private taskName(buf: Buffer, from: number, to: number): string {
    const last = this.lastTaskBytes;
    if (last && bytesEqual(buf, from, to, last)) return this.lastTask!;
    this.lastTaskBytes = Buffer.from(buf.subarray(from, to));
    this.lastTask = buf.toString('utf8', from, to);
    return this.lastTask;
  }

  private add(): FastRecord | undefined {
    const f = this.f;
    const { id, task, args } = f;
    if (id === undefined || task === undefined || args === undefined || f.state !== undefined || f.result !== undefined) return undefined;
    const createdAt = f.num(0x74);
    if (createdAt === undefined) return undefined;
    const job: NewJob = { id, task, args, createdAt, runAt: f.num(0x72) ?? 0, expiresAt: f.num(0x78) ?? 0, priority: f.num(0x70) ?? 0 };
    const m = f.num(0x6d);
    if (m !== undefined) job.maxRetries = m === -1 ? Number.POSITIVE_INFINITY : m;
    const d = f.num(0x64);
    if (d !== undefined) job.retryDelay = d;
    if (f.queue !== undefined) job.queue = f.queue;
    return { type: 'add', job };
  }

  private job(): FastRecord | undefined {
    const f = this.f;
    const { id, task, args, result } = f;
    const state = f.state;
    const attempts = f.num(0x6b);
    const retries = f.num(0x79);
    const createdAt = f.num(0x74);
    if (
      id === undefined ||
      task === undefined ||
      args === undefined ||
      state === undefined ||
      attempts === undefined ||
      retries === undefined ||
      createdAt === undefined
    )
      return undefined;
    const recovered = f.num(0x63);
    if (recovered !== undefined && recovered !== 1) return undefined; // the general path's reading of anything else
    const job: JobRecord = {
      id,
      task,
      args,
      state,
      attempts,
      retries,
      priority: f.num(0x70) ?? 0,
      createdAt,
      runAt: f.num(0x72) ?? 0,
      expiresAt: f.num(0x78) ?? 0,
      recovered: recovered === 1,
    };
    const m = f.num(0x6d);
    if (m !== undefined) job.maxRetries = m === -1 ? Number.POSITIVE_INFINITY : m;
    const d = f.num(0x64);
    if (d !== undefined) job.retryDelay = d;
    const b = f.num(0x62);
    if (b !== undefined) job.startedAt = b;
    const z = f.num(0x7a);
    if (z !== undefined) job.finishedAt = z;
    if (result !== undefined) job.result = result;
    if (f.progress !== undefined) job.progress = f.progress;
    if (f.queue !== undefined) job.queue = f.queue;
    return { type: 'job', job };
  }
}

/** The `o` of journal events (codec.ts encodeEvent): anything else is decoded whole, and refused, at once. */
const EVENT_KINDS = new Set([...'asdfrcxqgp'].map((c) => c.charCodeAt(0)));

// Number-valued keys: t r x p m d (add); also k y b z c (job).
const ADD_NUMBERS = new Set([0x74, 0x72, 0x78, 0x70, 0x6d, 0x64]);
const JOB_NUMBERS = new Set([...ADD_NUMBERS, 0x6b, 0x79, 0x62, 0x7a, 0x63]);

/** Index of the closing quote of a string starting at `from`, or -1 if it holds an escape or a control byte (or never closes). */
function stringEnd(buf: Buffer, from: number, to: number): number {
  for (let i = from; i < to; i++) {
    const c = buf[i]!;
    if (c === QUOTE) return i;
    if (c === BACKSLASH || c < 0x20) return -1;
  }
  return -1;
}

/** End of a JSON integer (an optional minus, 1–15 digits, no leading zero), or -1 for anything else. */
function integerEnd(buf: Buffer, from: number, to: number): number {
  let i = from;
  if (buf[i] === MINUS) i++;
  const first = i;
  while (i < to && buf[i]! >= 0x30 && buf[i]! <= 0x39) i++;
  const digits = i - first;
  if (digits === 0 || digits > 15 || (digits > 1 && buf[first] === 0x30)) return -1;
  return i;
}

function integerAt(buf: Buffer, from: number, to: number): number {
  let i = from;
  const negative = buf[i] === MINUS;
  if (negative) i++;
  let v = 0;
  for (; i < to; i++) v = v * 10 + (buf[i]! - 0x30);
  return negative ? -v : v;
}
