import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
const { createCeleriac } = await import(process.argv[2] ?? '../dist/index.js');
const big = process.argv[3] === 'nocompact';
const dir = mkdtempSync(join(tmpdir(), 'stall-'));
const app = await createCeleriac({ dir: join(dir, 'data'), tasks: [new URL('./tasks/bench.mjs', import.meta.url).pathname], concurrency: 2, logger: false, start: false, ...(big ? { compactAfterBytes: 2 ** 40 } : {}) });
function makePayload(i) { const p = { id: i, kind: 'noop', tenant: `tenant-${i % 97}`, pad: '' }; p.pad = 'x'.repeat(100 - Buffer.byteLength(JSON.stringify(p))); return p; }
const h = monitorEventLoopDelay({ resolution: 5 }); h.enable();
// a timer that records gaps
let last = performance.now(), maxGap = 0; const iv = setInterval(() => { const t = performance.now(); maxGap = Math.max(maxGap, t - last); last = t; }, 5);
const t0 = performance.now();
for (let s = 0; s < 1_000_000; s += 1000) await app.sendMany('bench.noop', Array.from({ length: 1000 }, (_, j) => [makePayload(s + j)]));
const sendMs = performance.now() - t0;
await new Promise((r) => setTimeout(r, 3000));
clearInterval(iv); h.disable();
console.log(JSON.stringify({ big, sendMs: Math.round(sendMs), maxDelayMs: Math.round(h.max / 1e6), p99: Math.round(h.percentile(99) / 1e6), maxGap: Math.round(maxGap) }));
await app.close({ timeout: 1 }).catch(() => {});
rmSync(dir, { recursive: true, force: true });
process.exit(0);
