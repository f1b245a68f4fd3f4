// The instants a schedule fires at. croner computes cron slots (time zones, DST);
// an `every` interval's slots are its multiples since the Unix epoch, so that every
// process and host computes the same instants.
import type { Cron } from 'croner';
import { cronOf } from './check.js';
import type { ScheduleEntry } from './types.js';

export interface SlotSource {
  /** The first slot strictly after `afterMs`, or undefined when there is none. */
  next(afterMs: number): number | undefined;
  /** The slots in (afterMs, upToMs], oldest first: the `limit` newest of them; `more` when older ones were left out. */
  between(afterMs: number, upToMs: number, limit: number): { slots: number[]; more: boolean };
}

export function slotSource(entry: Pick<ScheduleEntry, 'cron' | 'everyMs' | 'tz'>): SlotSource {
  return entry.everyMs !== undefined ? intervalSlots(entry.everyMs) : cronSlots(cronOf(entry.cron!, entry.tz));
}

function intervalSlots(everyMs: number): SlotSource {
  const next = (after: number) => (Math.floor(after / everyMs) + 1) * everyMs;
  return {
    next,
    between(after, upTo, limit) {
      const last = Math.floor(upTo / everyMs) * everyMs;
      const first = next(after);
      if (last < first) return { slots: [], more: false };
      const count = (last - first) / everyMs + 1;
      const from = count > limit ? last - (limit - 1) * everyMs : first;
      const slots: number[] = [];
      for (let t = from; t <= last; t += everyMs) slots.push(t);
      return { slots, more: count > limit };
    },
  };
}

function cronSlots(cron: Cron): SlotSource {
  const next = (after: number): number | undefined => cron.nextRun(new Date(after))?.getTime();
  return {
    next,
    between(after, upTo, limit) {
      const walk = (from: number, max: number): number[] => {
        const out: number[] = [];
        for (let t = next(from); t !== undefined && t <= upTo && out.length < max; t = next(t)) out.push(t);
        return out;
      };
      // Usually one or two slots are due: walk forward from `after`.
      const near = walk(after, limit + 1);
      if (near.length <= limit) return { slots: near, more: false };
      // More than `limit` are due (a long stop): walking all of them could take millions
      // of steps (a per-second pattern down for a month), so start instead just before the
      // `limit` newest, found walking back from upTo. croner counts in whole seconds and
      // excludes its reference: the reference is the second after upTo.
      const back = cron.previousRuns(limit, new Date(Math.floor(upTo / 1000) * 1000 + 1000));
      const oldest = back.at(-1)?.getTime();
      const from = back.length === limit && oldest !== undefined && oldest > after ? oldest - 1 : after;
      return { slots: walk(from, Number.POSITIVE_INFINITY).slice(-limit), more: true };
    },
  };
}
