// A clock the test moves: timers fire in order at exactly their instant, and each firing
// is followed by the scheduler's own work (sends, marks) before time moves on.
import type { Clock } from '../../src/schedule/clock.js';

export class ManualClock implements Clock {
  private timers = new Map<number, { at: number; fn: () => void }>();
  private seq = 0;
  constructor(private t: number) {}

  now(): number {
    return this.t;
  }

  setTimer(fn: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.timers.set(id, { at: this.t + Math.max(ms, 0), fn });
    return id;
  }

  clearTimer(handle: unknown): void {
    this.timers.delete(handle as number);
  }

  /** Jump without firing anything: time passing while nothing ran. */
  set(t: number): void {
    this.t = t;
  }

  /** Move to `target`, firing each timer due on the way at its own instant; `settle` waits for the work it started. */
  async advanceTo(target: number, settle: () => Promise<void>): Promise<void> {
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const e of this.timers) if (e[1].at <= target && (!next || e[1].at < next[1].at)) next = e;
      if (!next) break;
      this.timers.delete(next[0]);
      this.t = Math.max(this.t, next[1].at);
      next[1].fn();
      await settle();
    }
    this.t = Math.max(this.t, target);
  }
}

/** Marks kept in memory: for tests of the slot logic alone (the durable ones are tested with the app). */
export class MemoryMarks {
  readonly values = new Map<string, string>();
  async readMark(key: string): Promise<string | undefined> {
    return this.values.get(key);
  }
  async writeMark(key: string, value: string): Promise<void> {
    this.values.set(key, value);
  }
}
