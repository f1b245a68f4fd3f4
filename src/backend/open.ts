// Chooses where jobs are kept and opens it: the data dir (the file backend, the default),
// or BullMQ on a Redis or PostgreSQL broker.
import type { BrokerUrl } from './bullmq/broker-url.js';
import { FileBackend } from './file/file-backend.js';
import type { Backend, BackendContext } from './types.js';

export interface BackendChoice {
  /** The data dir (absolute). */
  dir: string;
  /** The file backend's journal compaction threshold (bytes). */
  compactAfterBytes: number;
  /** Jobs in BullMQ on this broker instead of the data dir. */
  broker?: BrokerUrl;
  /** The BullMQ queue (used with `broker`). */
  queue: string;
}

/**
 * Open the backend the options choose. Resolves once it holds what it needs to accept
 * jobs; `backend.load()` then reads the rest of what is on record.
 */
export async function openBackend(choice: BackendChoice, ctx: BackendContext): Promise<Backend> {
  if (choice.broker) {
    // A dynamic import: an app on a data dir never loads bullmq (nor ioredis, nor pg).
    const { openBullMQBackend } = await import('./bullmq/backend.js');
    return openBullMQBackend(ctx, { broker: choice.broker, queue: choice.queue, where: 'createCeleriac()' });
  }
  return FileBackend.open({ dir: choice.dir, compactAfterBytes: choice.compactAfterBytes }, ctx);
}
