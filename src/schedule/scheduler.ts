// Turning schedules into jobs. Each slot becomes an ordinary job, sent when its time
// comes, with an id derived from the schedule name and the slot (see ids.ts): the
// backend's dedup by id makes a second send of a slot (after a crash, from a second
// process) a no-op. A mark per schedule records the last slot handled; it is written
// after the slot's send is durable, so a crash in between resends a deduplicated id.
import type { Logger } from '../log.js';
import { systemClock, type Clock, MAX_TIMER_MS } from './clock.js';
import { slotId } from './ids.js';
import type { MarkStore } from './marks.js';
import { slotSource, type SlotSource } from './slots.js';
import type { ScheduleEntry, ScheduleInfo } from './types.js';

/** How a slot reaches the backend: the app's send with the slot's id and the slot as eta. */
export type SendSlot = (entry: ScheduleEntry, slotMs: number, id: string, backfill: boolean) => Promise<void>;

export interface SchedulerOptions {
  marks: MarkStore;
  send: SendSlot;
  log: Logger;
  /** Default: the system clock. */
  clock?: Clock;
  /** After a failed send, look again this much later. Default 1 s. */
  retryMs?: number;
}

/** What the mark of a schedule holds. */
export interface Mark {
  /** Every slot at or before this instant is handled (sent, or passed over by the missed policy). */
  handled: number;
  /** The timing it was computed for: a different cron, zone or interval starts afresh. */
  spec: string;
  /** The latest slot actually sent. */
  sent?: number;
}

export const markKey = (name: string) => `schedule:${name}`;

/** A schedule with its last slot sent (from its mark) and its next slot after `now`. */
export function scheduleInfo(e: ScheduleEntry, mark: Mark | undefined, now: number, slots: SlotSource = slotSource(e)): ScheduleInfo {
  const current = mark?.spec === timingOf(e) ? mark : undefined;
  const next = slots.next(Math.max(now, current?.handled ?? now));
  return {
    name: e.name,
    task: e.task,
    pattern: e.cron ?? `every ${e.everyMs! / 1000}s`,
    tz: e.tz,
    missed: e.missed,
    lastRun: mark?.sent === undefined ? undefined : new Date(mark.sent),
    nextRun: next === undefined ? undefined : new Date(next),
    file: e.file,
    line: e.line,
  };
}

function timingOf(e: ScheduleEntry): string {
  return e.everyMs !== undefined ? `every ${e.everyMs}` : `cron ${e.cron} ${e.tz}`;
}

export function parseMark(text: string | undefined): Mark | undefined {
  if (text === undefined) return undefined;
  try {
    const m = JSON.parse(text) as Mark;
    return typeof m.handled === 'number' && typeof m.spec === 'string' ? m : undefined;
  } catch {
    return undefined;
  }
}

class Runner {
  timer: unknown;
  /** The tick in progress (ticks of one schedule never overlap). */
  busy: Promise<void> = Promise.resolve();
  stopped = false;
  /** The slot after `after` (computing a cron slot is not cheap: each one is computed once). */
  private cache: { after: number; next: number | undefined } | undefined;
  constructor(
    readonly entry: ScheduleEntry,
    readonly slots: SlotSource,
    public mark: Mark,
  ) {}

  nextAfter(after: number): number | undefined {
    if (this.cache?.after !== after) this.cache = { after, next: this.slots.next(after) };
    return this.cache.next;
  }

  /** The slots in (handled, now]: the newest `limit` of them. */
  due(now: number, limit: number): { slots: number[]; more: boolean } {
    const first = this.nextAfter(this.mark.handled);
    if (first === undefined || first > now) return { slots: [], more: false };
    const second = this.nextAfter(first);
    if (second === undefined || second > now) return { slots: [first], more: false };
    return this.slots.between(this.mark.handled, now, limit);
  }
}

export class PeriodicScheduler {
  private readonly runners = new Map<string, Runner>();
  private readonly clock: Clock;
  private readonly retryMs: number;
  private started = false;

  constructor(
    private schedules: ScheduleEntry[],
    private readonly opts: SchedulerOptions,
  ) {
    this.clock = opts.clock ?? systemClock;
    this.retryMs = opts.retryMs ?? 1000;
  }

  /** Catch up on the slots missed while nothing ran (each schedule's `missed` policy), then send each slot as it comes. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await Promise.all(this.schedules.map((e) => this.begin(e)));
  }

  /**
   * New code (hot reload): a removed schedule stops, an added one starts, a changed one
   * continues from its next slot. Slots already sent are jobs like any other: untouched.
   */
  async update(schedules: ScheduleEntry[]): Promise<void> {
    this.schedules = schedules;
    if (!this.started) return;
    const names = new Set(schedules.map((s) => s.name));
    for (const [name, r] of this.runners) if (!names.has(name)) await this.end(r);
    await Promise.all(
      schedules.map(async (e) => {
        const old = this.runners.get(e.name);
        if (old && JSON.stringify(old.entry) === JSON.stringify(e)) return;
        if (old) await this.end(old);
        await this.begin(e);
      }),
    );
  }

  /** Send nothing more; resolves once a send in progress has finished. */
  async stop(): Promise<void> {
    this.started = false;
    await Promise.all([...this.runners.values()].map((r) => this.end(r)));
  }

  /** Resolves once no schedule is sending (what a tick that just began does included). */
  async settled(): Promise<void> {
    await Promise.all([...this.runners.values()].map((r) => r.busy));
  }

  /** The schedules it runs. */
  get entries(): ScheduleEntry[] {
    return this.schedules;
  }

  /** Each schedule with its last and next slot. */
  info(): ScheduleInfo[] {
    const now = this.clock.now();
    return this.schedules.map((e) => {
      const r = this.runners.get(e.name);
      return scheduleInfo(e, r?.mark, now, r?.slots);
    });
  }

  private async end(r: Runner): Promise<void> {
    r.stopped = true;
    this.clock.clearTimer(r.timer);
    if (this.runners.get(r.entry.name) === r) this.runners.delete(r.entry.name);
    await r.busy;
  }

  private async begin(entry: ScheduleEntry): Promise<void> {
    const spec = timingOf(entry);
    const now = this.clock.now();
    const saved = parseMark(await this.opts.marks.readMark(markKey(entry.name)));
    const runner = new Runner(entry, slotSource(entry), saved ?? { handled: now, spec });
    this.runners.set(entry.name, runner);
    if (!saved || saved.spec !== spec) {
      // New, or its timing changed: nothing before now is owed; its first slot is the next one.
      runner.mark = { handled: now, spec, ...(saved?.sent !== undefined ? { sent: saved.sent } : {}) };
      await this.opts.marks.writeMark(markKey(entry.name), JSON.stringify(runner.mark));
    }
    await this.tick(runner, true);
  }

  /** Send what is due for one schedule, then wait for its next slot. */
  private tick(r: Runner, catchUp: boolean): Promise<void> {
    const run = r.busy.then(() => this.sendDue(r, catchUp));
    r.busy = run.catch(() => undefined);
    return run;
  }

  private async sendDue(r: Runner, catchUp: boolean): Promise<void> {
    if (r.stopped) return;
    const { entry } = r;
    const now = this.clock.now();
    const limit = entry.missed === 'all' ? entry.maxBackfill : 1;
    const { slots, more } = r.due(now, limit);
    // At a start the slots due passed while nothing ran; later, the newest one is on time
    // and only older ones (the process was stalled) count as missed.
    const send = catchUp && entry.missed === 'skip' ? [] : slots;
    if (more && entry.missed === 'all')
      this.opts.log.warn(`schedule ${entry.name}: more than ${limit} slots were missed; the ${limit} newest run (maxBackfill)`);
    let failed = false;
    try {
      for (const slot of send) {
        if (r.stopped) return;
        const backfill = catchUp || slot !== slots.at(-1);
        await this.opts.send(entry, slot, slotId(entry.name, slot), backfill);
      }
      const last = slots.at(-1);
      if (last !== undefined) {
        r.mark = {
          handled: last,
          spec: r.mark.spec,
          ...(send.length ? { sent: send.at(-1)! } : r.mark.sent !== undefined ? { sent: r.mark.sent } : {}),
        };
        await this.opts.marks.writeMark(markKey(entry.name), JSON.stringify(r.mark));
      }
    } catch (err) {
      failed = true;
      if (!r.stopped)
        this.opts.log.error(
          `schedule ${entry.name}: could not send its slot (${(err as Error).message}); trying again in ${this.retryMs / 1000} s`,
        );
    }
    if (r.stopped) return;
    this.arm(r, failed ? this.retryMs : undefined);
  }

  private arm(r: Runner, inMs?: number): void {
    // From the last slot handled, not from now: a slot that came due while this one was
    // being sent is sent at once.
    const next = r.nextAfter(r.mark.handled);
    if (inMs === undefined && next === undefined) return; // no future slot
    const wait = inMs ?? Math.min(next! - this.clock.now(), MAX_TIMER_MS);
    r.timer = this.clock.setTimer(() => void this.tick(r, false), Math.max(wait, 0));
  }
}
