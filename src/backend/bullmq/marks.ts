// Small durable values by key (a periodic schedule's last slot), kept beside the queue:
// a Redis hash, or a PostgreSQL table. Written before the promise resolves.
import type { RedisQueueBackend } from 'bullmq';
import type { BrokerQueue } from './connect.js';
import type { BrokerUrl } from './broker-url.js';

export interface Marks {
  read(key: string): Promise<string | undefined>;
  write(key: string, value: string): Promise<void>;
  close(): Promise<void>;
}

export async function openMarks(b: BrokerUrl, queueName: string, queue: BrokerQueue): Promise<Marks> {
  if (b.kind === 'redis') {
    const client = await (queue.getBackend() as RedisQueueBackend).client;
    const hash = `celeriac:${queueName}:marks`;
    return {
      read: async (key) => (await client.hget(hash, key)) ?? undefined,
      write: async (key, value) => void (await client.hset(hash, { [key]: value })),
      close: async () => {},
    };
  }
  const { default: pg } = await import('pg');
  const pool = new pg.Pool({ connectionString: b.url, max: 2 });
  // An idle connection the server drops (a restart) is replaced at the next query; without a listener it would crash the process.
  pool.on('error', () => {});
  await pool.query(
    'CREATE TABLE IF NOT EXISTS celeriac_marks (queue text NOT NULL, key text NOT NULL, value text NOT NULL, PRIMARY KEY (queue, key))',
  );
  return {
    read: async (key) =>
      (await pool.query<{ value: string }>('SELECT value FROM celeriac_marks WHERE queue = $1 AND key = $2', [queueName, key])).rows[0]
        ?.value,
    write: async (key, value) =>
      void (await pool.query(
        'INSERT INTO celeriac_marks (queue, key, value) VALUES ($1, $2, $3) ON CONFLICT (queue, key) DO UPDATE SET value = EXCLUDED.value',
        [queueName, key, value],
      )),
    close: () => pool.end(),
  };
}
