import ms from 'ms';

// Celery measures countdown, retry delay, expiry and time limits in seconds; so do we.
// Strings go through `ms` ("500ms", "5m", "1h") for readability in task options.

/** Parse a duration given as seconds (number) or an `ms`-style string; returns milliseconds. */
export function durationMs(value: unknown, what: string): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) {
      throw new RangeError(`${what} must be a finite number of seconds ≥ 0, got ${String(value)}`);
    }
    return Math.round(value * 1000);
  }
  if (typeof value === 'string') {
    const parsed = ms(value as ms.StringValue);
    if (typeof parsed !== 'number' || !Number.isFinite(parsed) || parsed < 0) {
      throw new RangeError(`${what} must be seconds (a number) or a duration like "30s", "5m"; got ${JSON.stringify(value)}`);
    }
    return parsed;
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
  return t;
}
