// celeriac ids as BullMQ job ids. BullMQ refuses an id with ':' and one that reads as an
// integer; celeriac accepts both, so such ids are encoded (reversibly, one to one), never
// refused: '%' → %25 and ':' → %3A, and an integer-looking result gets the prefix %N
// (which no other encoded id can start with: every other '%' is followed by 25 or 3A).

export function toBullId(id: string): string {
  const e = id.includes('%') || id.includes(':') ? id.replace(/%/g, '%25').replace(/:/g, '%3A') : id;
  return `${Number.parseInt(e, 10)}` === e ? `%N${e}` : e;
}

export function fromBullId(bullId: string): string {
  const e = bullId.startsWith('%N') ? bullId.slice(2) : bullId;
  return e.includes('%') ? e.replace(/%3A/g, ':').replace(/%25/g, '%') : e;
}
