// A task's rateLimit option ("10/s", "100/m", "1000/h") read into a count per window. Apart
// from the limiter itself: task() reads it in worker threads, which load none of the host.
import { CeleriacError } from './errors.js';

export interface RateLimit {
  /** Starts allowed per window. */
  count: number;
  windowMs: number;
}

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000 };
const FORMAT = /^\s*(\d{1,9})\s*\/\s*([smh])\s*$/;

/** "10/s", "100/m", "1000/h" → { count, windowMs }; anything else: INVALID_TASK_OPTIONS naming it. */
export function parseRateLimit(value: unknown, where: string): RateLimit {
  const m = typeof value === 'string' ? FORMAT.exec(value) : null;
  const count = m ? Number(m[1]) : 0;
  if (!m || count < 1) {
    throw new CeleriacError(
      'INVALID_TASK_OPTIONS',
      `${where}: rateLimit must be "<count>/<s|m|h>" with a count ≥ 1, such as "10/s", "100/m" or "1000/h"; got ${JSON.stringify(value) ?? String(value)}`,
    );
  }
  return { count, windowMs: UNITS[m[2]!]! };
}
