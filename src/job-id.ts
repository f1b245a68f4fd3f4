// The ids of jobs sent without one: random (version 4) UUIDs, what crypto.randomUUID()
// gives, built as one flat string. randomUUID() joins its 20 pieces into a rope that the
// job table's Map then flattens on the first look-up, and the journal's encoding again:
// here the 36 characters are written into a buffer and read out once.
import { randomFillSync } from 'node:crypto';

const IDS_PER_FILL = 256;
/** Random bytes for the next ids, 16 each, refilled from the CSPRNG when used up. */
const random = Buffer.allocUnsafe(16 * IDS_PER_FILL);
let used = IDS_PER_FILL;
/** The id being built: its dashes and version digit stay; the hex digits are written over. */
const text = Buffer.from('00000000-0000-4000-8000-000000000000', 'latin1');
const HEX = Buffer.from('0123456789abcdef', 'latin1');
/** Where each random byte's two hex digits go among the 36 characters. */
const AT = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];

/** A random version 4 UUID in lower case, e.g. `0f8fad5b-d9cb-469f-a165-70867728950e`. */
export function randomJobId(): string {
  if (used === IDS_PER_FILL) {
    randomFillSync(random);
    used = 0;
  }
  const o = 16 * used++;
  random[o + 6] = (random[o + 6]! & 0x0f) | 0x40; // version 4
  random[o + 8] = (random[o + 8]! & 0x3f) | 0x80; // variant 10 (RFC 9562)
  for (let i = 0; i < 16; i++) {
    const b = random[o + i]!;
    const at = AT[i]!;
    text[at] = HEX[b >> 4]!;
    text[at + 1] = HEX[b & 15]!;
  }
  return text.toString('latin1', 0, 36);
}
