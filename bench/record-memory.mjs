// What one pending job record costs in the host's heap: 200,000 records made as the store
// makes them (newRecord; a uuid id and ~110 bytes of args text, each its own string as the
// journal's decoder makes them), kept in a Map by id. Variants take one part away, so
// that the differences say what each part costs.
// `bare-stored`: what a pending record would cost with only its 11 fields and its args left
// on disk as finished ones are (a StoredArgs: file, offset, length) — the floor of this shape.
// Usage: node --import tsx --expose-gc bench/record-memory.mjs [full|noargs|array|keyed-by-number|bare|bare-stored]
// (the sources through tsx: the built package bundles these modules into chunks)
import { randomUUID } from 'node:crypto';
import { newRecord } from '../src/jobs.ts';
import { StoredArgs } from '../src/store/stored-args.ts';

const N = 200_000;
const variant = process.argv[2] ?? 'full';
const lines = Array.from({ length: 1000 }, (_, i) => `[{"id":${i},"kind":"noop","tenant":"tenant-${i % 97}","pad":"${'x'.repeat(40)}"}]`);
const buf = Buffer.from(lines.join('\n'));
const starts = [];
for (let i = 0, at = 0; i < lines.length; at += lines[i].length + 1, i++) starts.push(at);

globalThis.gc();
const before = process.memoryUsage();
const jobs = new Map();
const list = [];
for (let i = 0; i < N; i++) {
  const k = i % lines.length;
  const args = buf.toString('utf8', starts[k], starts[k] + lines[k].length);
  const id = Buffer.from(randomUUID()).toString('latin1');
  const rec =
    variant === 'bare' || variant === 'bare-stored' // only the fields a pending job has a value for
      ? {
          id,
          task: 'bench.noop',
          args: variant === 'bare' ? args : new StoredArgs(undefined, i * 200, args.length),
          state: 'pending',
          attempts: 0,
          retries: 0,
          priority: 0,
          createdAt: Date.now(),
          runAt: 0,
          expiresAt: 0,
          recovered: false,
        }
      : newRecord({ id, task: 'bench.noop', args, createdAt: Date.now(), runAt: 0, expiresAt: 0, priority: 0 });
  if (variant === 'noargs') rec.args = '';
  if (variant === 'array') list.push(rec);
  else if (variant === 'keyed-by-number') {
    rec.id = '';
    jobs.set(i, rec);
  } else jobs.set(id, rec);
}
globalThis.gc();
const after = process.memoryUsage();
const per = (k) => Math.round((after[k] - before[k]) / N);
process.stdout.write(
  `${JSON.stringify({ variant, records: jobs.size + list.length, heapBytesPerJob: per('heapUsed'), rssBytesPerJob: per('rss') })}\n`,
);
