// Hot reload latency: save → the next job running the new code.
// An app with `watch: true` runs a task module in a temp dir; each round rewrites the
// module's return value, then sends jobs back to back until one returns the new value.
// Usage: node --import tsx scripts/measure-reload.ts [--edits N] [--gap MS] [--interval MS] [--js] [--concurrency N]
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { createCeleriac } from '../src/index.js';

const { values } = parseArgs({
  options: {
    edits: { type: 'string', default: '12' },
    js: { type: 'boolean', default: false },
    concurrency: { type: 'string' },
    gap: { type: 'string', default: '2000' },
    interval: { type: 'string', default: '5' },
  },
});
const edits = Number(values.edits);
const ext = values.js ? 'mjs' : 'ts';
const index = pathToFileURL(new URL('../src/index.ts', import.meta.url).pathname).href;

const root = await mkdtemp(join(tmpdir(), 'celeriac-reload-'));
await writeFile(join(root, 'package.json'), '{ "type": "module" }\n');
const tasksDir = join(root, 'tasks');
await import('node:fs/promises').then((fs) => fs.mkdir(tasksDir));
const file = join(tasksDir, `version.${ext}`);
const source = (v: number) => `import { task } from '${index}';\nexport const version = task('reload.version', () => ${v});\n`;
await writeFile(file, source(0));

const reloads: number[] = [];
const app = await createCeleriac({
  dir: join(root, 'data'),
  tasks: [tasksDir],
  watch: true,
  ...(values.concurrency ? { concurrency: Number(values.concurrency) } : {}),
  logger: {
    info: (m) => {
      const ms = /reloaded the task modules in (\d+) ms/.exec(m);
      if (ms) reloads.push(Number(ms[1]));
    },
    warn: (m) => console.warn(m),
    error: (m) => console.error(m),
  },
});
await app.start();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const times: number[] = [];
let jobs = 0;
try {
  for (let v = 1; v <= edits; v++) {
    await sleep(Number(values.gap)); // between saves, as when editing: the old generation retires, spares warm up
    const savedAt = performance.now();
    await writeFile(file, source(v));
    for (;;) {
      jobs++;
      const result = await (await app.send<number>('reload.version', [])).result({ timeout: 10 });
      if (result === v) break;
      if (Number(values.interval) > 0) await sleep(Number(values.interval));
      if (performance.now() - savedAt > 10_000) throw new Error(`edit ${v}: still old code after 10 s`);
    }
    times.push(performance.now() - savedAt);
  }
} finally {
  await app.close();
  await rm(root, { recursive: true, force: true });
}

const sorted = [...times].sort((a, b) => a - b);
const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
const fmt = (n: number) => `${Math.round(n)} ms`;
console.log(`save → next job on new code, ${edits} edits of a .${ext} task module, pool of ${app.poolSize}:`);
console.log(`  min ${fmt(sorted[0]!)}  median ${fmt(q(0.5))}  p90 ${fmt(q(0.9))}  max ${fmt(sorted.at(-1)!)}`);
console.log(`  each: ${times.map((t) => Math.round(t)).join(' ')}`);
console.log(`  of which the reload itself (discovery + new generation ready): ${reloads.join(' ')} ms; ${jobs} jobs sent`);
