// Start-up, celeriac: a fresh process (plain node, no loader) opens an empty data dir
// as the README's quick start does (createCeleriac, then start()), sends one no-op job
// and awaits its result. Prints {"ms": process start → first result}.
// Usage: node bench/startup/celeriac.mjs <task module> <empty data dir> <threads>
import { performance } from 'node:perf_hooks';
import { createCeleriac } from '../../dist/index.js';

const [tasks, dir, threads] = process.argv.slice(2);
const app = await createCeleriac({ dir, tasks: [tasks], concurrency: Number(threads), logger: false });
await app.start();
const result = await (await app.send('startup.noop', [{ id: 7 }])).result();
const ms = performance.now();
if (result !== 7) throw new Error(`the job returned ${JSON.stringify(result)}`);
process.stdout.write(`${JSON.stringify({ ms })}\n`);
await app.close();
