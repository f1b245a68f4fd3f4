// Where a send's host time goes: a CPU profile of the send window only (W1's enqueue
// phase: 100 sendMany calls of 1,000 W1 payloads, or 3,000 awaited single sends; the app
// not started), its self time grouped by stage of the send path, in µs per job.
// Usage: npm run build && node --import tsx bench/send-profile.mjs [bulk|single] [out.cpuprofile]
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createCeleriac } from '../dist/index.js';
import { makePayload } from './params.ts';

const mode = process.argv[2] ?? 'bulk';
const out = process.argv[3];
const N = mode === 'bulk' ? 100_000 : 3_000;
const dir = mkdtempSync(join(tmpdir(), 'send-profile-'));
const tasks = fileURLToPath(new URL('./tasks/bench.mjs', import.meta.url));
const app = await createCeleriac({ dir: join(dir, 'data'), tasks: [tasks], concurrency: 2, logger: false });
const session = new Session();
session.connect();
await session.post('Profiler.enable');
await session.post('Profiler.setSamplingInterval', { interval: 100 });
if (mode === 'bulk') {
  const batches = [];
  for (let b = 0; b < N; b += 1000) batches.push(Array.from({ length: 1000 }, (_, k) => [makePayload(b + k)]));
  await session.post('Profiler.start');
  for (const batch of batches) await app.sendMany('bench.noop', batch);
} else {
  const payloads = Array.from({ length: N }, (_, i) => makePayload(i));
  await session.post('Profiler.start');
  for (const p of payloads) await app.send('bench.noop', [p]);
}
const { profile } = await session.post('Profiler.stop');
await app.close();
rmSync(dir, { recursive: true, force: true });
if (out) writeFileSync(out, JSON.stringify(profile));

// First match wins: a frame is counted where its own code is, by file or function.
const STAGES = [
  ['GC', (f) => f === '(garbage collector)'],
  ['idle: waiting for the O_DSYNC write', (f) => f === '(idle)'],
  ['args: JSON.stringify + the validation walk', (_f, u) => u.endsWith('/validate.js')],
  ['job table: applyEvent, newRecord (Map)', (_f, u) => u.endsWith('/jobs.js')],
  ['framing: frameAll, encoding into the buffer, crc32', (f, u) => /\/codec\.js$/.test(u) && f === 'frameAll'],
  ['record JSON: encodeEvent, commit', (f, u) => f === 'encodeEvent' || (f === 'commit' && u.endsWith('/file-store.js'))],
  ['accept + schedule: dedup, dispatcher, ready heap', (_f, u) => /file-backend\.js$|dispatcher\.js$|ready\.js$|tinyqueue/.test(u)],
  ['job objects and ids: send.js, randomUUID', (f, u) => u.endsWith('/send.js') || u.includes('crypto') || f === 'RandomBytesJob'],
  ['the write: libuv submit, fs promises', (f, u) => f === 'writeBuffer' || u.includes('fs/promises') || u.endsWith('/file-store.js')],
  ['app.send/sendMany, handles', (_f, u) => u.endsWith('/app.js')],
];
const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
/** A native frame (Buffer encoding, crc32) is counted with the JS function that called it. */
function frameOf(id) {
  let n = nodes.get(id);
  while (n.callFrame.url === '' && !n.callFrame.functionName.startsWith('(') && parent.has(n.id)) {
    const up = nodes.get(parent.get(n.id));
    if (/^(write|utf8Write|crc32|subarray|byteLength)$/.test(up.callFrame.functionName) || up.callFrame.url.startsWith('node:')) n = up;
    else break;
  }
  while (n.callFrame.url.startsWith('node:') && parent.has(n.id)) n = nodes.get(parent.get(n.id));
  return n.callFrame;
}
const totals = new Map([...STAGES.map(([k]) => [k, 0]), ['other: profiler, harness, Node internals', 0]]);
let total = 0;
for (let i = 0; i < profile.samples.length; i++) {
  const d = profile.timeDeltas[i] ?? 0;
  total += d;
  const cf = frameOf(profile.samples[i]);
  const stage = STAGES.find(([, match]) => match(cf.functionName, cf.url))?.[0] ?? 'other: profiler, harness, Node internals';
  totals.set(stage, totals.get(stage) + d);
}
console.log(
  `${process.version} ${mode}: ${N} jobs, send window ${(total / 1000).toFixed(0)} ms (profiled), load ${loadavg()[0].toFixed(1)}`,
);
for (const [stage, us] of totals)
  console.log(`${((100 * us) / total).toFixed(1).padStart(5)}% ${(us / N).toFixed(2).padStart(7)} µs/job  ${stage}`);
