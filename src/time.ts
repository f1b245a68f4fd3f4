import ms from 'ms';

// Celery measures countdown, retry delay, expiry and time limits in seconds; so do we.
// Strings go through `ms` ("500ms", "5m", "1h") for readability in task options.

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

/** Parse a duration given as seconds (number) or an `ms`-style string; returns milliseconds. */
export function durationMs(value: unknown, what: string): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) {
      throw new RangeError(`${what} must be a finite number of seconds ≥ 0, got ${String(value)}`);
    }
    return checkDuration(Math.round(value * 1000), what, value);
  }
  if (typeof value === 'string') {
    const parsed = ms(value as ms.StringValue);
    if (typeof parsed !== 'number' || !Number.isFinite(parsed) || parsed < 0) {
      throw new RangeError(`${what} must be seconds (a number) or a duration like "30s", "5m"; got ${JSON.stringify(value)}`);
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
