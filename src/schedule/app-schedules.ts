// The app's side of periodic schedules, kept here so that the app only calls in at
// start, reload and close: the scheduler wired to the app's public send and to a mark
// store (the `schedules` option is checked in option-schedules.ts).
import { CeleriacError } from '../errors.js';
import type { Logger } from '../log.js';
import type { SlotKind } from '../jobs.js';
import type { SendOptions } from '../send-types.js';
import type { Clock } from './clock.js';
import type { MarkStore } from './marks.js';
import { PeriodicScheduler } from './scheduler.js';
import type { ScheduleEntry } from './types.js';

/** The app's send that keeps a slot's kind on its job (for the scheduler only: not a user's API). */
export const sendSlot: unique symbol = Symbol('celeriac.sendSlot');

export interface SlotSender {
  [sendSlot](task: string, args: unknown[], options: SendOptions, slot: SlotKind): Promise<unknown>;
}

/**
 * What "run now" sends for a schedule: its task and args as an ordinary job (no slot: the
 * schedule's own slots and marks are untouched) under the id `<name>@manual-<ms>`.
 */
export function manualRun(entries: ScheduleEntry[], name: string, now: number): { task: string; args: unknown[]; id: string } {
  const entry = entries.find((e) => e.name === name);
  if (!entry) {
    const known = entries.map((e) => e.name);
    throw new CeleriacError(
      'UNKNOWN_SCHEDULE',
      `runSchedule(${JSON.stringify(name)}): no schedule has this name (schedules: ${known.length ? known.join(', ') : 'none'})`,
    );
  }
  return { task: entry.task, args: JSON.parse(entry.args) as unknown[], id: `${entry.name}@manual-${now}` };
}

/** A scheduler that sends each slot through the app's send with the slot's id, the slot as its eta and its kind. */
export function schedulerFor(app: SlotSender, entries: ScheduleEntry[], marks: MarkStore, log: Logger, clock?: Clock): PeriodicScheduler {
  return new PeriodicScheduler(entries, {
    marks,
    log,
    ...(clock ? { clock } : {}),
    send: async (entry, slotMs, id, backfill) => {
      await app[sendSlot](entry.task, JSON.parse(entry.args) as unknown[], { id, eta: slotMs }, backfill ? 'backfill' : 'on-time');
    },
  });
}
