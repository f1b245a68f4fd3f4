// BullMQ's classes for one broker URL: the same Queue/Worker/QueueEvents API over Redis
// or, through BullMQ's createPostgresBackend, over PostgreSQL.
import { Queue, QueueEvents, QueueEventsProducer, Worker, createPostgresBackend, type Processor } from 'bullmq';
import type { BrokerUrl } from './broker-url.js';
import type { JobData } from './job-data.js';

export interface StallSettings {
  /** How often a host looks for jobs whose host stopped renewing their lock (ms). BullMQ's default: 30,000. */
  stalledInterval?: number;
  /** How long a running job's lock lasts without renewal (ms). BullMQ's default: 30,000. */
  lockDuration?: number;
}

// The same classes over either engine; their engine type parameter is not what celeriac uses.
/* eslint-disable @typescript-eslint/no-explicit-any */
export type BrokerQueue = Queue<JobData, string, string, JobData, string, string, any, any>;
export type BrokerWorker = Worker<JobData, string, string, any, any>;

export interface BrokerParts {
  queue: BrokerQueue;
  events: QueueEvents<any, any, any>;
  producer: QueueEventsProducer<any, any>;
  worker(processor: Processor<JobData, string>, concurrency: number, stall: StallSettings): BrokerWorker;
}

/**
 * A job whose host died is put back to run again however often that happens: BullMQ
 * would fail it after maxStalledCount stalls (default 1), celeriac never fails a job
 * merely for stalling. (PostgreSQL stores the count as a 32-bit integer.)
 */
const MAX_STALLS = 1_000_000;

function redisOptions(b: BrokerUrl) {
  const u = new URL(b.url);
  const db = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0;
  return {
    host: u.hostname,
    port: b.port,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(Number.isInteger(db) ? { db } : {}),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
    maxRetriesPerRequest: null,
  };
}

export function brokerParts(b: BrokerUrl, name: string): BrokerParts {
  if (b.kind === 'redis') {
    const connection = redisOptions(b);
    return {
      queue: new Queue<JobData, string>(name, { connection }),
      events: new QueueEvents(name, { connection, autorun: false }),
      producer: new QueueEventsProducer(name, { connection }),
      worker: (processor, concurrency, stall) =>
        new Worker<JobData, string>(name, processor, { connection, concurrency, autorun: false, maxStalledCount: MAX_STALLS, ...stall }),
    };
  }
  // Each class opens its own pool; the first one to connect creates BullMQ's schema.
  const connection = { connectionString: b.url, migrate: true };
  return {
    queue: new Queue(name, { connection }, createPostgresBackend) as unknown as BrokerQueue,
    events: new QueueEvents(name, { connection, autorun: false }, createPostgresBackend),
    producer: new QueueEventsProducer(name, { connection }, createPostgresBackend),
    worker: (processor, concurrency, stall) =>
      new Worker(
        name,
        processor as Processor,
        { connection, concurrency, autorun: false, maxStalledCount: MAX_STALLS, ...stall },
        createPostgresBackend,
      ) as unknown as BrokerWorker,
  };
}
