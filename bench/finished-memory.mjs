// What finished jobs cost the owner's heap after a restart: N jobs added, run and succeeded
// through the file store (args of ~110 bytes, as record-memory.mjs), folded into a snapshot;
// then a fresh process opens the data dir again, as an app's worker process does, and the
// heap growth per job is measured after a full GC; then the time of one compaction.
// Usage: npm run build && node bench/finished-memory.mjs [N=200000] [dist dir]
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const N = Number(process.argv[2] ?? 200_000);
const dist = resolve(process.argv[3] ?? new URL('../dist', import.meta.url).pathname);
const { FileStore } = await import(pathToFileURL(join(dist, 'store/file-store.js')).href);
const open = (dir) => FileStore.open({ dir, resultTtlMs: 86_400_000, compactAfterBytes: 1 << 30 });

if (process.argv[4]) {
  const dir = process.argv[4];
  globalThis.gc();
  const before = process.memoryUsage();
  const store = await open(dir);
  globalThis.gc();
  const after = process.memoryUsage();
  const per = (k) => Math.round((after[k] - before[k]) / N);
  // A compaction of those jobs (their args copied from the snapshot just read, or from memory).
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  await store.compact();
  const cpu = process.cpuUsage(cpu0);
  const compactMs = Math.round(performance.now() - t0);
  const compactCpuMs = Math.round((cpu.user + cpu.system) / 1000);
  process.stdout.write(
    `${JSON.stringify({ finished: store.jobs.size, heapBytesPerJob: per('heapUsed'), rssBytesPerJob: per('rss'), compactMs, compactCpuMs })}\n`,
  );
  await store.close();
  process.exit(0);
}

const dir = await mkdtemp(join(tmpdir(), 'celeriac-finished-'));
try {
  const store = await open(dir);
  for (let start = 0; start < N; start += 10_000) {
    const ids = Array.from({ length: Math.min(10_000, N - start) }, (_, k) => `${String(start + k).padStart(8, '0')}-job`);
    const at = Date.now();
    const args = (i) => `[{"id":${i},"kind":"noop","tenant":"tenant-${i % 97}","pad":"${'x'.repeat(40)}"}]`;
    await store.commit(
      ids.map((id, k) => ({
        type: 'add',
        job: { id, task: 'bench.noop', args: args(start + k), createdAt: at, runAt: 0, expiresAt: 0, priority: 0 },
      })),
    );
    await store.commit(ids.map((id) => ({ type: 'start', id, at })));
    await store.commit(ids.map((id) => ({ type: 'succeed', id, at, result: '1' })));
  }
  await store.compact();
  await store.close();
  const self = new URL(import.meta.url).pathname;
  execFileSync(process.execPath, ['--expose-gc', self, String(N), dist, dir], { stdio: 'inherit' });
} finally {
  await rm(dir, { recursive: true, force: true });
}
