// Time as the scheduler sees it: injected, so that tests can move it by hours without waiting.

export interface Clock {
  now(): number;
  /** Call `fn` once after `ms`; must not keep the process alive by itself. */
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
}

/** setTimeout cannot wait longer than 2^31-1 ms; the scheduler wakes up at least this often and looks again. */
export const MAX_TIMER_MS = 24 * 3_600_000;

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(fn, ms) {
    const t = setTimeout(fn, Math.min(Math.max(ms, 0), MAX_TIMER_MS));
    t.unref();
    return t;
  },
  clearTimer: (handle) => clearTimeout(handle as NodeJS.Timeout),
};
