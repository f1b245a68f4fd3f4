// How long a bulk of sends holds the host's event loop, compactions included: N jobs (W1's
// 100-byte payload) sent with sendMany in calls of 1,000 to an app that runs none (`start:
// false`), with the default compactAfterBytes (a compaction per 64 MiB of journal, each of
// every job sent so far) or none at all (--no-compaction). Prints the send time and the
// longest event-loop delay (monitorEventLoopDelay, 5 ms resolution) over the sends and 3 s
// after them.
// node bench/compaction-stall.mjs [--dist=<dir with index.js>] [--n=1000000] [--no-compaction]
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';

const arg = (name, fallback) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const here = fileURLToPath(new URL('.', import.meta.url));
const dist = resolve(arg('dist', join(here, '../dist')));
const n = Number(arg('n', '1000000'));
const noCompaction = process.argv.includes('--no-compaction');
const { createCeleriac } = await import(pathToFileURL(join(dist, 'index.js')).href);

/** params.ts's payload (100 bytes of JSON), here so that plain node runs this file. */
function makePayload(i) {
  const p = { id: i, kind: 'noop', tenant: `tenant-${i % 97}`, pad: '' };
  p.pad = 'x'.repeat(100 - Buffer.byteLength(JSON.stringify(p)));
  return p;
}

const dir = mkdtempSync(join(tmpdir(), 'compaction-stall-'));
try {
  const app = await createCeleriac({
    dir: join(dir, 'data'),
    tasks: [join(here, 'tasks/bench.mjs')],
    concurrency: 2,
    logger: false,
    start: false,
    ...(noCompaction ? { compactAfterBytes: 2 ** 40 } : {}),
  });
  const delay = monitorEventLoopDelay({ resolution: 5 });
  delay.enable();
  const t0 = performance.now();
  for (let from = 0; from < n; from += 1000) {
    const batch = Array.from({ length: Math.min(1000, n - from) }, (_, j) => [makePayload(from + j)]);
    await app.sendMany('bench.noop', batch);
  }
  const sendMs = performance.now() - t0;
  await new Promise((r) => setTimeout(r, 3000));
  delay.disable();
  const out = {
    dist,
    n,
    compaction: !noCompaction,
    sendMs: Math.round(sendMs),
    maxDelayMs: Math.round(delay.max / 1e6),
    p99DelayMs: Math.round(delay.percentile(99) / 1e6),
    load: loadavg()[0],
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
  await app.close({ timeout: 1 });
} finally {
  rmSync(dir, { recursive: true, force: true });
}
