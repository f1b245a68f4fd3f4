// A job that holds its thread for a given wall time (ms), whatever the machine's load: for
// bench/w3-host.mjs --spin-ms, so that on a loaded machine W3's jobs still end at the pace
// they would on a quiet one, and the host sees the same pattern of messages.
import { task } from '../../dist/index.js';

export const spin = task('bench.spin', (p, ms) => {
  const end = performance.now() + ms;
  while (performance.now() < end);
  return p.id;
});
