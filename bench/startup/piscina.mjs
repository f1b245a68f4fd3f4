// Start-up, Piscina: a fresh process (plain node, no loader) makes a pool and runs one
// no-op job. Prints {"ms": process start → first result}.
// Usage: node bench/startup/piscina.mjs <threads>
import { performance } from 'node:perf_hooks';
import { Piscina } from 'piscina';

const threads = Number(process.argv[2]);
const pool = new Piscina({ filename: new URL('../piscina-worker.mjs', import.meta.url).href, minThreads: threads, maxThreads: threads });
const result = await pool.run({ id: 7 });
const ms = performance.now();
if (result !== 7) throw new Error(`the job returned ${JSON.stringify(result)}`);
process.stdout.write(`${JSON.stringify({ ms })}\n`);
await pool.destroy();
