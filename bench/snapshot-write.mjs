// One compaction's snapshot write, alone: N finished W1-like jobs (100 B of args, a result)
// written twice through SnapshotFile as the owner does (the second time their args are
// copied from the first file, StoredArgs), reporting CPU ms of each write and the longest
// time the event loop was held (monitorEventLoopDelay's max).
// node --expose-gc bench/snapshot-write.mjs [--dist=<dir with index.js>] [--n=200000] [--reps=3]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const arg = (name, fallback) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const here = fileURLToPath(new URL('.', import.meta.url));
const dist = resolve(arg('dist', join(here, '../dist')));
const n = Number(arg('n', '200000'));
const reps = Number(arg('reps', '3'));
const { SnapshotFile } = await import(join(dist, 'store/snapshot-file.js'));

function jobs() {
  const out = [];
  const t = Date.now();
  for (let i = 0; i < n; i++) {
    const p = { id: i, kind: 'noop', tenant: `tenant-${i % 97}`, pad: '' };
    p.pad = 'x'.repeat(100 - Buffer.byteLength(JSON.stringify(p)));
    out.push({
      id: crypto.randomUUID(),
      task: 'bench.noop',
      args: JSON.stringify([p]),
      state: 'succeeded',
      attempts: 1,
      retries: 0,
      priority: 0,
      createdAt: t + i,
      runAt: 0,
      expiresAt: 0,
      recovered: false,
      startedAt: t + i + 1,
      finishedAt: t + i + 2,
      result: `{"n":${i}}`,
    });
  }
  return out;
}

async function timed(label, f) {
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  // Let the histogram's timer run first, or the write's synchronous start goes unseen.
  await new Promise((r) => setTimeout(r, 50));
  const c0 = process.cpuUsage();
  const w0 = performance.now();
  await f();
  const wall = performance.now() - w0;
  const c = process.cpuUsage(c0);
  h.disable();
  console.log(
    `${label}: cpu ${((c.user + c.system) / 1000).toFixed(0)} ms (user ${(c.user / 1000).toFixed(0)}), wall ${wall.toFixed(0)} ms, loop held max ${(h.max / 1e6).toFixed(1)} ms`,
  );
}

for (let r = 0; r < reps; r++) {
  const dir = mkdtempSync(join(tmpdir(), 'snapshot-write-'));
  const file = new SnapshotFile(join(dir, 'snapshot'), { leaveFinishedArgs: true });
  const list = jobs();
  globalThis.gc?.();
  const data = () => ({ version: 1, journalFrom: 1, createdAt: Date.now(), jobs: list });
  await timed(`rep ${r} args in memory`, () => file.write(data()));
  await timed(`rep ${r} args on disk  `, () => file.write(data()));
  await file.close();
  rmSync(dir, { recursive: true, force: true });
}
