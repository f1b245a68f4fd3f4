// Summarise V8 CPU profiles (node --cpu-prof) by self time: which functions the thread
// spent its time in. `node scripts/profile-top.mjs <dir-or-file.cpuprofile>... [--top=N]`
// Prints one table per profile file (the host thread and each worker thread write their own).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, basename } from 'node:path';

const args = process.argv.slice(2);
const top = Number(args.find((a) => a.startsWith('--top='))?.slice(6) ?? 25);
const files = args
  .filter((a) => !a.startsWith('--'))
  .flatMap((p) =>
    statSync(p).isDirectory()
      ? readdirSync(p)
          .filter((f) => f.endsWith('.cpuprofile'))
          .map((f) => join(p, f))
      : [p],
  );
if (files.length === 0) {
  console.error('usage: node scripts/profile-top.mjs <dir-or-file.cpuprofile>... [--top=N]');
  process.exit(2);
}
for (const file of files) {
  const prof = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const selfUs = new Map();
  // timeDeltas[i] is the time before sample i; charge it to that sample's node.
  for (let i = 0; i < prof.samples.length; i++) {
    const id = prof.samples[i];
    selfUs.set(id, (selfUs.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0));
  }
  const byFn = new Map();
  let total = 0;
  for (const [id, us] of selfUs) {
    const { callFrame: f } = byId.get(id);
    const where = f.url ? `${basename(f.url.split('?')[0])}:${f.lineNumber + 1}` : '';
    const key = `${f.functionName || '(anonymous)'} ${where}`.trim();
    byFn.set(key, (byFn.get(key) ?? 0) + us);
    total += us;
  }
  console.log(`\n${basename(file)}: ${(total / 1000).toFixed(0)} ms sampled`);
  for (const [key, us] of [...byFn].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${((us / total) * 100).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(6)} ms  ${key}`);
  }
}
