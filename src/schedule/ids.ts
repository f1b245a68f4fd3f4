// A slot's job id: the schedule name and the slot's UTC instant. Every process computes
// the same id for the same slot, so dedup by id makes a second send of it a no-op.
// No ":" (BullMQ refuses it in ids): the instant is ISO 8601's basic format.

/** `nightly-cleanup@20260301T020000Z` (milliseconds only when the slot has them). */
export function slotId(name: string, slotMs: number): string {
  const iso = new Date(slotMs).toISOString().replace(/[-:]/g, '').replace('.000Z', 'Z');
  return `${name}@${iso}`;
}

const SLOT_ID = /^(.+)@(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\.\d{3})?Z$/;

/** The schedule name and slot of a slot's job id; undefined for any other id. */
export function parseSlotId(id: string): { name: string; slot: Date } | undefined {
  const m = SLOT_ID.exec(id);
  if (!m) return undefined;
  const slot = new Date(`${m[2]}-${m[3]}-${m[4]}T${m[5]}:${m[6]}:${m[7]}${m[8] ?? ''}Z`);
  return Number.isNaN(slot.getTime()) ? undefined : { name: m[1]!, slot };
}
