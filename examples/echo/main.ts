// `npm run demo`: start an app on a local data dir, send the echo task by name with a
// uuid (the seed's send_task), then a task that succeeds after two retries.
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createCeleriac } from 'celeriac';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

const app = await createCeleriac({ dir: here('./.celeriac'), tasks: [here('./tasks')], concurrency: 2 });
console.log(`celeriac demo — data dir ${app.dir}`);
for (const t of app.tasks) console.log(`  task ${t.name.padEnd(12)} → ${t.file}:${t.line}`);
await app.start();

const id = randomUUID();
console.log(`\nsend_task("demo.echo", ["Hello World"], task_id=${id})`);
const job = await app.send('demo.echo', ['Hello World'], { id });
console.log(`result: ${String(await job.result({ timeout: 10 }))} (state ${(await job.info())?.state})`);

console.log('\nsend_task("demo.flaky", ["archived https://example.org/data.csv", 2])');
const flaky = await app.send('demo.flaky', ['archived https://example.org/data.csv', 2]);
console.log(`result: ${String(await flaky.result({ timeout: 20 }))}`);
const info = (await flaky.info())!;
console.log(`state ${info.state}, attempts ${info.attempts}, retries ${info.retries}`);

await app.close();
console.log('\ndone: both jobs were journaled before send() resolved, and ran in worker threads.');
