// One journal or snapshot record per line: `<crc32 as 8 hex digits> <json>\n`.
// The checksum covers the JSON text, so a torn or flipped record is detected on read.
// Keys are one letter to keep a pending job near 200 bytes on disk.
import { crc32 } from 'node:zlib';
import type { SerializedError } from '../errors.js';
import { MAX_CAUSE_DEPTH } from '../serialize-error.js';
import type { JobEvent, JobRecord, NewJob, SlotKind } from '../jobs.js';
import { crc32Of } from './crc32.js';
import type { FastDecoder } from './fast-decode.js';

export const FORMAT_VERSION = 1;

export function frame(json: string): string {
  return `${crc32(json).toString(16).padStart(8, '0')} ${json}\n`;
}

const HEX = Buffer.from('0123456789abcdef');
/** What frame() adds around the JSON: 8 hex digits and a space before it, a newline after. */
const FRAME_BYTES = 10;

/**
 * Many records framed into one buffer, byte for byte what `frame` gives each: each JSON
 * text is encoded straight into its place in the buffer and its checksum computed on
 * those bytes. No string of the whole batch is built, so a bulk send pays no copy of it.
 * Framed into `into` when they fit (the caller's buffer, reused), else into a new one.
 */
export function frameAll(jsons: readonly string[], into?: Buffer): Buffer {
  // Sized for ASCII (one byte per UTF-16 unit, what records nearly always are); grown if not.
  let size = 0;
  for (const json of jsons) size += json.length + FRAME_BYTES;
  let buf: Buffer = into !== undefined && size <= into.length ? into : Buffer.allocUnsafe(size);
  let start = 0;
  for (let r = 0; r < jsons.length; r++) {
    const json = jsons[r]!;
    const body = start + 9;
    // A UTF-16 unit takes at most 3 bytes in UTF-8: only a record that might not fit is measured.
    if (buf.length - body < json.length * 3 + 1) {
      const need = body + Buffer.byteLength(json) + 1;
      if (need > buf.length) buf = grown(buf, start, need + (jsons.length - r - 1) * FRAME_BYTES + restLength(jsons, r + 1));
    }
    const bytes = buf.write(json, body);
    // Summed in place: records are short, so zlib's call and a subarray each would cost more than the sum.
    let sum = crc32Of(buf, body, body + bytes);
    for (let i = 7; i >= 0; i--) {
      buf[start + i] = HEX[sum & 15]!;
      sum >>>= 4;
    }
    buf[start + 8] = 0x20; // space
    buf[body + bytes] = 0x0a; // newline
    start = body + bytes + 1;
  }
  return start === buf.length ? buf : buf.subarray(0, start);
}

/** A bigger buffer holding the first `used` bytes of `buf`. */
function grown(buf: Buffer, used: number, atLeast: number): Buffer {
  const next = Buffer.allocUnsafe(Math.max(atLeast, buf.length * 2));
  buf.copy(next, 0, 0, used);
  return next;
}

function restLength(jsons: readonly string[], from: number): number {
  let n = 0;
  for (let i = from; i < jsons.length; i++) n += jsons[i]!.length;
  return n;
}

const str = JSON.stringify;

export function encodeEvent(ev: JobEvent): string {
  switch (ev.type) {
    case 'add': {
      const j = ev.job;
      let s = `{"o":"a","i":${str(j.id)},"n":${str(j.task)},"t":${j.createdAt}`;
      if (j.runAt) s += `,"r":${j.runAt}`;
      if (j.expiresAt) s += `,"x":${j.expiresAt}`;
      if (j.priority) s += `,"p":${j.priority}`;
      if (j.maxRetries !== undefined) s += `,"m":${encodeMax(j.maxRetries)}`;
      if (j.retryDelay !== undefined) s += `,"d":${j.retryDelay}`;
      if (j.queue !== undefined) s += `,"q":${str(j.queue)}`;
      if (j.link !== undefined) s += `,"l":${str(j.link)}`;
      if (j.slot !== undefined) s += `,"w":${str(j.slot)}`;
      return `${s},"a":${j.args}}`;
    }
    case 'start':
      return `{"o":"s","i":${str(ev.id)},"t":${ev.at}}`;
    case 'succeed':
      return ev.result === undefined
        ? `{"o":"d","i":${str(ev.id)},"t":${ev.at}}`
        : `{"o":"d","i":${str(ev.id)},"t":${ev.at},"v":${ev.result}}`;
    case 'fail':
      return `{"o":"f","i":${str(ev.id)},"t":${ev.at},"e":${str(ev.error)}}`;
    case 'retry': {
      const s = `{"o":"r","i":${str(ev.id)},"t":${ev.at},"r":${ev.runAt},"e":${str(ev.error)}`;
      return ev.args === undefined ? `${s}}` : `${s},"a":${ev.args}}`;
    }
    case 'cancel':
      return `{"o":"c","i":${str(ev.id)},"t":${ev.at}}`;
    case 'expire':
      return `{"o":"x","i":${str(ev.id)},"t":${ev.at}}`;
    case 'forget':
      return `{"o":"g","i":${str(ev.id)},"t":${ev.at}}`;
    case 'progress':
      return `{"o":"p","i":${str(ev.id)},"t":${ev.at},"u":${ev.value}}`;
    case 'requeue':
      return `{"o":"q","i":${str(ev.id)},"t":${ev.at},"b":${ev.revert ? 1 : 0}}`;
  }
}

/** A mark: a small durable value by key (markKey, markValue: see marks.ts). */
export interface MarkRecord {
  type: 'mark';
  key: string;
  value: string;
}

export function encodeMark(key: string, value: string): string {
  return `{"o":"k","k":${str(key)},"v":${str(value)}}`;
}

/** The marks a snapshot header holds ("m": an object of strings), or undefined when it holds none. */
export function decodeMarks(v: unknown): Map<string, string> | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new BadRecord('expected an object of marks');
  const marks = new Map<string, string>();
  for (const [key, value] of Object.entries(v)) marks.set(key, text(value));
  return marks;
}

/** JSON cannot hold Infinity: an unlimited maxRetries is stored as -1. */
function encodeMax(n: number): number {
  return n === Number.POSITIVE_INFINITY ? -1 : n;
}
function decodeMax(n: unknown): number | undefined {
  if (n === undefined) return undefined;
  return n === -1 ? Number.POSITIVE_INFINITY : num(n);
}

type Raw = Record<string, unknown>;

class BadRecord extends Error {}

function num(v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new BadRecord('expected a number');
  return v;
}
function text(v: unknown): string {
  if (typeof v !== 'string') throw new BadRecord('expected a string');
  return v;
}
/**
 * Only the known fields survive, in the cause chain too: no other key (no "a") ever sits
 * inside an encoded error. Records written before causes were kept simply have none.
 */
function err(v: unknown, depth = 0): SerializedError {
  const e = v as SerializedError;
  if (!e || typeof e.name !== 'string' || typeof e.message !== 'string') throw new BadRecord('expected an error');
  const out: SerializedError = { name: e.name, message: e.message };
  if (typeof e.stack === 'string') out.stack = e.stack;
  if (typeof e.code === 'string') out.code = e.code;
  if (e.cause !== undefined && depth < MAX_CAUSE_DEPTH) out.cause = err(e.cause, depth + 1);
  return out;
}
function slotKind(v: unknown): SlotKind {
  if (v !== 'on-time' && v !== 'backfill') throw new BadRecord('expected a slot kind');
  return v;
}
function args(v: unknown): string {
  if (!Array.isArray(v)) throw new BadRecord('expected an argument array');
  return JSON.stringify(v);
}

/**
 * Decode a checksummed JSON record into an event. Throws on a record whose checksum
 * held but whose shape is wrong (a bug or a newer writer), never returns a half event.
 */
export function decodeEvent(json: string): JobEvent | MarkRecord | { type: 'header'; raw: Raw } | { type: 'job'; job: JobRecord } {
  // Adds and snapshot jobs are most of what a restart reads. Their args come last and
  // stay text: parse only what precedes them (the fields before are numbers, strings and
  // a sanitized error, none of which can hold an unescaped `,"a":`) — half the work of a
  // full parse plus re-stringify for a million jobs.
  if (json.startsWith('{"o":"a",') || json.startsWith('{"o":"j",')) {
    const at = json.indexOf(ARGS_KEY);
    if (at !== -1 && json.endsWith(']}') && json.charCodeAt(at + ARGS_KEY.length) === 91 /* [ */) {
      const r = JSON.parse(`${json.slice(0, at)}}`) as Raw;
      const rawArgs = json.slice(at + ARGS_KEY.length, -1);
      if (r.o === 'a') return { type: 'add', job: decodeAdd(r, rawArgs) };
      return { type: 'job', job: decodeJob(r, rawArgs) };
    }
  }
  const r = JSON.parse(json) as Raw;
  switch (r.o) {
    case 'a':
      return { type: 'add', job: decodeAdd(r, args(r.a)) };
    case 's':
      return { type: 'start', id: text(r.i), at: num(r.t) };
    case 'd':
      return r.v === undefined
        ? { type: 'succeed', id: text(r.i), at: num(r.t) }
        : { type: 'succeed', id: text(r.i), at: num(r.t), result: JSON.stringify(r.v) };
    case 'f':
      return { type: 'fail', id: text(r.i), at: num(r.t), error: err(r.e) };
    case 'r': {
      const ev: JobEvent = { type: 'retry', id: text(r.i), at: num(r.t), runAt: num(r.r), error: err(r.e) };
      if (r.a !== undefined) ev.args = args(r.a);
      return ev;
    }
    case 'c':
      return { type: 'cancel', id: text(r.i), at: num(r.t) };
    case 'x':
      return { type: 'expire', id: text(r.i), at: num(r.t) };
    case 'g':
      return { type: 'forget', id: text(r.i), at: num(r.t) };
    case 'q':
      return { type: 'requeue', id: text(r.i), at: num(r.t), revert: r.b === 1 };
    case 'k':
      return { type: 'mark', key: text(r.k), value: text(r.v) };
    case 'p':
      if (r.u === undefined) throw new BadRecord('expected a progress value');
      return { type: 'progress', id: text(r.i), at: num(r.t), value: JSON.stringify(r.u) };
    case 'h':
      return { type: 'header', raw: r };
    case 'j':
      return { type: 'job', job: decodeJob(r, args(r.a)) };
    default:
      throw new BadRecord(`unknown record type ${JSON.stringify(r.o)}`);
  }
}

/**
 * Decode the record of the checksummed line buf[start, end) (`end` at its newline): the
 * common records straight from the bytes, any other through decodeEvent.
 */
export function decodeLine(buf: Buffer, start: number, end: number, fast: FastDecoder): ReturnType<typeof decodeEvent> {
  return fast.decode(buf, start + 9, end) ?? decodeEvent(buf.toString('utf8', start + 9, end));
}

// A snapshot line holds a whole job; same one-letter keys as the events where they overlap.
export function encodeJob(j: JobRecord): string {
  if (typeof j.args !== 'string') throw new Error(`job ${j.id}: its args are on disk; read them before encoding the job`);
  return `${encodeJobHead(j)}${j.args}}`;
}

/** A job's snapshot line up to its args, which come last: `{"o":"j",...,"a":`. */
export function encodeJobHead(j: JobRecord): string {
  // A reservation lives in memory only: on disk the job is pending.
  const state = j.state === 'reserved' ? 'pending' : j.state;
  let s = `{"o":"j","i":${str(j.id)},"n":${str(j.task)},"s":"${state}","k":${j.attempts},"y":${j.retries},"t":${j.createdAt}`;
  if (j.runAt) s += `,"r":${j.runAt}`;
  if (j.expiresAt) s += `,"x":${j.expiresAt}`;
  if (j.priority) s += `,"p":${j.priority}`;
  if (j.maxRetries !== undefined) s += `,"m":${encodeMax(j.maxRetries)}`;
  if (j.retryDelay !== undefined) s += `,"d":${j.retryDelay}`;
  if (j.startedAt !== undefined) s += `,"b":${j.startedAt}`;
  if (j.finishedAt !== undefined) s += `,"z":${j.finishedAt}`;
  if (j.recovered) s += `,"c":1`;
  if (j.error !== undefined) s += `,"e":${str(j.error)}`;
  // The result as a JSON string (encoded twice): inside a string no unescaped `,"a":` can
  // occur, so the args that follow are found by a search, not a parse (see decodeEvent).
  if (j.result !== undefined) s += `,"v":${str(j.result)}`;
  if (j.progress !== undefined) s += `,"u":${str(j.progress)}`;
  if (j.queue !== undefined) s += `,"q":${str(j.queue)}`;
  if (j.link !== undefined) s += `,"l":${str(j.link)}`;
  if (j.slot !== undefined) s += `,"w":${str(j.slot)}`;
  return `${s},"a":`;
}

const STATES = new Set(['pending', 'started', 'retrying', 'succeeded', 'failed', 'cancelled', 'expired']);

const ARGS_KEY = ',"a":';

function decodeAdd(r: Raw, rawArgs: string): NewJob {
  const job: NewJob = {
    id: text(r.i),
    task: text(r.n),
    args: rawArgs,
    createdAt: num(r.t),
    runAt: r.r === undefined ? 0 : num(r.r),
    expiresAt: r.x === undefined ? 0 : num(r.x),
    priority: r.p === undefined ? 0 : num(r.p),
  };
  const m = decodeMax(r.m);
  if (m !== undefined) job.maxRetries = m;
  if (r.d !== undefined) job.retryDelay = num(r.d);
  if (r.q !== undefined) job.queue = text(r.q);
  if (r.l !== undefined) job.link = text(r.l);
  if (r.w !== undefined) job.slot = slotKind(r.w);
  return job;
}

function decodeJob(r: Raw, rawArgs: string): JobRecord {
  const state = text(r.s);
  if (!STATES.has(state)) throw new BadRecord(`unknown job state ${state}`);
  const job: JobRecord = {
    id: text(r.i),
    task: text(r.n),
    args: rawArgs,
    state: state as JobRecord['state'],
    attempts: num(r.k),
    retries: num(r.y),
    priority: r.p === undefined ? 0 : num(r.p),
    createdAt: num(r.t),
    runAt: r.r === undefined ? 0 : num(r.r),
    expiresAt: r.x === undefined ? 0 : num(r.x),
    recovered: r.c === 1,
  };
  const m = decodeMax(r.m);
  if (m !== undefined) job.maxRetries = m;
  if (r.d !== undefined) job.retryDelay = num(r.d);
  if (r.b !== undefined) job.startedAt = num(r.b);
  if (r.z !== undefined) job.finishedAt = num(r.z);
  if (r.e !== undefined) job.error = err(r.e);
  if (r.v !== undefined) job.result = text(r.v);
  if (r.u !== undefined) job.progress = text(r.u);
  if (r.q !== undefined) job.queue = text(r.q);
  if (r.l !== undefined) job.link = text(r.l);
  if (r.w !== undefined) job.slot = slotKind(r.w);
  return job;
}

export { BadRecord };
