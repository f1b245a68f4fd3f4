import type msType from 'ms';
import { lazyPackage } from './lazy-package.js';

const parseMs = lazyPackage<typeof msType>('ms');

// One rule for every duration the API takes, as in Celery: a number is seconds; a string
// names its unit ("500ms", "30s", "5m", "1h", read by `ms`). A string without a unit is
// refused: `ms` would read "30" as milliseconds, the opposite of the number 30.

/** The latest instant a Date can hold (year 275760): every stored time must be a valid Date. */
export const MAX_INSTANT_MS = 8.64e15;
/** The longest duration accepted: 10,000 years, so that now + duration is still a valid Date. */
export const MAX_DURATION_MS = 10_000 * 365.25 * 86_400_000;

function checkDuration(ms: number, what: string, value: unknown): number {
  if (ms > MAX_DURATION_MS) {
    throw new RangeError(
      `${what} must be at most ${MAX_DURATION_MS / 1000} seconds (10,000 years), got ${typeof value === 'string' ? JSON.stringify(value) : String(value)}`,
    );
  }
  return ms;
}

/** The longest wait a timer can hold (Node fires a longer setTimeout after 1 ms): about 24.8 days. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** A duration that a timer waits for (a time limit, a result wait): as durationMs, at most MAX_TIMER_MS. */
export function timerMs(value: unknown, what: string): number {
  const parsed = durationMs(value, what);
  if (parsed > MAX_TIMER_MS) {
    throw new RangeError(
      `${what} must be at most ${Math.floor(MAX_TIMER_MS / 1000)} seconds (24.8 days, the longest a timer waits), got ${typeof value === 'string' ? JSON.stringify(value) : String(value)}; leave it out to wait without a limit`,
    );
  }
  return parsed;
}

/** A number with a unit ("500ms", "1.5 h"), as `ms` reads it; a bare number is no duration string. */
const DURATION_STRING = /^\s*(?:\d+(?:\.\d*)?|\.\d+)\s*[a-z]+\s*$/i;

/** Whether `value` is a duration string ("5m") rather than, say, a date. */
export function isDurationString(value: unknown): value is string {
  return typeof value === 'string' && DURATION_STRING.test(value) && typeof parseMs()(value as msType.StringValue) === 'number';
}

/** Parse a duration given as seconds (number) or a string with a unit ("500ms", "5m"); returns milliseconds. */
export function durationMs(value: unknown, what: string): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) {
      throw new RangeError(`${what} must be a finite number of seconds ≥ 0, got ${String(value)}`);
    }
    return checkDuration(Math.round(value * 1000), what, value);
  }
  if (typeof value === 'string') {
    const parsed = parseMs()(value as msType.StringValue);
    if (typeof parsed !== 'number' || !Number.isFinite(parsed) || parsed < 0) {
      throw new RangeError(`${what} must be seconds (a number) or a duration like "500ms", "30s", "5m"; got ${JSON.stringify(value)}`);
    }
    if (!DURATION_STRING.test(value)) {
      throw new RangeError(
        `${what} ${JSON.stringify(value)} has no unit: give seconds as a number (${value.trim()}) or a string with its unit ("${value.trim()}s", "${value.trim()}ms")`,
      );
    }
    return checkDuration(parsed, what, value);
  }
  throw new TypeError(`${what} must be seconds (a number) or a duration string like "5m"; got ${typeof value}`);
}

/** A point in time given as a Date, an ISO-8601 string or epoch milliseconds. */
export function instantMs(value: unknown, what: string): number {
  let t: number;
  if (value instanceof Date) t = value.getTime();
  else if (typeof value === 'string') t = Date.parse(value);
  else if (typeof value === 'number') t = value;
  else throw new TypeError(`${what} must be a Date, an ISO-8601 string or epoch milliseconds; got ${typeof value}`);
  if (!Number.isFinite(t)) throw new RangeError(`${what} is not a valid time: ${String(value)}`);
  if (Math.abs(t) > MAX_INSTANT_MS) throw new RangeError(`${what} is out of the range of a Date (up to year 275760): ${String(value)}`);
  return t;
}
