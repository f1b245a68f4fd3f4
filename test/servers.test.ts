// The tests' own brokers: started with the durability the backend relies on, on loopback,
// and gone (process and dir) once the test that started them ends.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createConnection } from 'node:net';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import pg from 'pg';
import { startTestServer, type TestServer } from './servers.js';

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host: '127.0.0.1', port }, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

test('redis-server: AOF with appendfsync always, on 127.0.0.1, stopped and removed after the test', async (t) => {
  let seen: TestServer | undefined;
  await t.test('running', async (st) => {
    const redis = await startTestServer(
      'redis',
      (fn) => st.after(fn),
      (r) => st.skip(r),
    );
    if (!redis) return;
    seen = redis;
    assert.match(redis.url, /^redis:\/\/127\.0\.0\.1:\d+$/);
    const client = new Redis(redis.url, { lazyConnect: true });
    await client.connect();
    try {
      assert.deepEqual(await client.config('GET', 'appendonly'), ['appendonly', 'yes']);
      assert.deepEqual(await client.config('GET', 'appendfsync'), ['appendfsync', 'always']);
      assert.deepEqual(await client.config('GET', 'bind'), ['bind', '127.0.0.1']);
    } finally {
      await client.quit();
    }
  });
  if (!seen) return;
  assert.equal(await portOpen(seen.port), false, 'redis-server still listens after its test ended');
  assert.equal(existsSync(seen.config[seen.config.indexOf('--dir') + 1]!), false, 'its dir is left behind');
});

test('PostgreSQL: a cluster of its own on 127.0.0.1 that answers queries, stopped after the test', async (t) => {
  let seen: TestServer | undefined;
  await t.test('running', async (st) => {
    const server = await startTestServer(
      'postgres',
      (fn) => st.after(fn),
      (r) => st.skip(r),
    );
    if (!server) return;
    seen = server;
    const client = new pg.Client({ connectionString: server.url });
    await client.connect();
    try {
      const r = await client.query<{ v: string; fsync: string }>(
        "select current_setting('server_version') as v, current_setting('fsync') as fsync",
      );
      assert.match(r.rows[0]!.v, /^15\./);
      assert.equal(r.rows[0]!.fsync, 'on');
    } finally {
      await client.end();
    }
  });
  if (!seen) return;
  assert.equal(await portOpen(seen.port), false, 'PostgreSQL still listens after its test ended');
});
