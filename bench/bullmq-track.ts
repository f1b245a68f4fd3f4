// A BullMQ worker's completions, tracked for the bench: a result must equal its payload's id,
// and a failed job or a worker error ends the child (a figure over broken jobs means nothing).
import type { Job, Worker } from 'bullmq';
import { Completions } from './common.js';
import type { Payload } from './params.js';

// biome-ignore lint/suspicious/noExplicitAny: the queue backend (Redis or PostgreSQL) does not matter here
export function trackCompletions(worker: Worker<Payload, number, string, any, any, any>): Completions {
  const done = new Completions();
  worker.on('completed', (job: Job<Payload, number>, result: number) => {
    if (result !== job.data.id) worker.emit('error', new Error(`job ${job.data.id} returned ${result}`));
    done.signal(job.id!);
  });
  worker.on('failed', (job, err) => {
    process.stderr.write(`bullmq job ${job?.id} failed: ${err.stack}\n`);
    process.exit(1);
  });
  worker.on('error', (err) => {
    process.stderr.write(`bullmq worker error: ${err.stack}\n`);
    process.exit(1);
  });
  return done;
}
