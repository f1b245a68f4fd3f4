// Before anything is sent: is the broker there, and does it keep what it acknowledges?
// Redis must append every write to its AOF (appendonly yes); `appendfsync always` syncs
// each write before replying, `everysec` may lose the last second of acknowledged jobs
// if the machine stops; an eviction policy other than noeviction may drop jobs when
// memory is full. PostgreSQL keeps what it commits (fsync and synchronous_commit on).
import { CeleriacError } from '../../errors.js';
import type { BrokerUrl } from './broker-url.js';

export interface BrokerCheck {
  name: string;
  value: string;
  ok: boolean;
  /** What it means and what to do, when not ok (or a risk worth knowing). */
  advice?: string;
}

const CONNECT_TIMEOUT_MS = 5000;

function unreachable(b: BrokerUrl, where: string, err: unknown): CeleriacError {
  return new CeleriacError(
    'BROKER_UNREACHABLE',
    `${where}: cannot reach the broker ${b.masked}: ${(err as Error).message}. Check that the ${b.kind === 'redis' ? 'redis-server' : 'PostgreSQL server'} runs and listens on ${b.host}:${b.port}, and the URL's user and password; nothing was sent.`,
    { cause: err },
  );
}

/** Connect once and read the settings durability depends on. Throws BROKER_UNREACHABLE. */
export async function checkBroker(b: BrokerUrl, where: string): Promise<BrokerCheck[]> {
  return b.kind === 'redis' ? checkRedis(b, where) : checkPostgres(b, where);
}

async function checkRedis(b: BrokerUrl, where: string): Promise<BrokerCheck[]> {
  const { Redis } = await import('ioredis');
  const client = new Redis(b.url, {
    lazyConnect: true,
    connectTimeout: CONNECT_TIMEOUT_MS,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  client.on('error', () => {}); // reported by connect() below
  try {
    await client.connect();
  } catch (err) {
    client.disconnect();
    throw unreachable(b, where, err);
  }
  try {
    const get = async (name: string) => {
      try {
        const r = (await client.config('GET', name)) as string[];
        return r[1] ?? '(unset)';
      } catch {
        return '(CONFIG GET refused)';
      }
    };
    const appendonly = await get('appendonly');
    const appendfsync = await get('appendfsync');
    const policy = await get('maxmemory-policy');
    return [
      {
        name: 'appendonly',
        value: appendonly,
        ok: appendonly === 'yes',
        ...(appendonly === 'yes'
          ? {}
          : {
              advice:
                'without the AOF, a restart of redis-server loses every job since the last RDB snapshot: set appendonly yes (redis.conf, or CONFIG SET appendonly yes then CONFIG REWRITE)',
            }),
      },
      {
        name: 'appendfsync',
        value: appendfsync,
        ok: appendfsync === 'always',
        ...(appendfsync === 'always'
          ? {}
          : {
              advice:
                appendfsync === 'everysec'
                  ? "everysec: a power loss or kernel crash may lose the jobs acknowledged in the last second (a redis-server crash alone loses none); set appendfsync always for celeriac's guarantee"
                  : 'set appendfsync always: otherwise acknowledged jobs may be lost when the machine stops',
            }),
      },
      {
        name: 'maxmemory-policy',
        value: policy,
        ok: policy === 'noeviction',
        ...(policy === 'noeviction'
          ? {}
          : { advice: 'a full Redis may evict jobs instead of refusing new ones: set maxmemory-policy noeviction' }),
      },
    ];
  } finally {
    client.disconnect();
  }
}

async function checkPostgres(b: BrokerUrl, where: string): Promise<BrokerCheck[]> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: b.url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => {});
    throw unreachable(b, where, err);
  }
  try {
    const r = await client.query<{ v: string; fsync: string; sc: string }>(
      "SELECT current_setting('server_version') AS v, current_setting('fsync') AS fsync, current_setting('synchronous_commit') AS sc",
    );
    const row = r.rows[0]!;
    return [
      {
        name: 'server_version',
        value: row.v,
        ok: Number.parseInt(row.v, 10) >= 13,
        ...(Number.parseInt(row.v, 10) >= 13 ? {} : { advice: "BullMQ's PostgreSQL backend needs PostgreSQL 13 or later" }),
      },
      {
        name: 'fsync',
        value: row.fsync,
        ok: row.fsync === 'on',
        ...(row.fsync === 'on' ? {} : { advice: 'fsync off: a crash of the machine can lose or corrupt jobs; set fsync = on' }),
      },
      {
        name: 'synchronous_commit',
        value: row.sc,
        ok: row.sc !== 'off',
        ...(row.sc !== 'off' ? {} : { advice: 'synchronous_commit off: a crash may lose the last acknowledged jobs; set it to on' }),
      },
    ];
  } finally {
    await client.end().catch(() => {});
  }
}

/** Refuse a broker that would lose acknowledged jobs on a restart (Redis without its AOF). */
export function assertDurable(b: BrokerUrl, where: string, checks: BrokerCheck[]): void {
  const aof = checks.find((c) => c.name === 'appendonly');
  if (aof && !aof.ok) {
    throw new CeleriacError(
      'BROKER_NOT_DURABLE',
      `${where}: the broker ${b.masked} runs without its append-only file (appendonly is ${aof.value}): ${aof.advice}. \`celeriac doctor --broker <url>\` checks the rest; nothing was sent.`,
    );
  }
}
