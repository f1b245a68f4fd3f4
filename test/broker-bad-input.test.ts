// A broker that is wrong gets a clear error naming it (password masked) and what to do,
// before anything is sent; `celeriac doctor --broker` reports what durability needs.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import { freePort } from '../bench/servers.js';
import { createCeleriac } from '../src/index.js';
import { fixture, ROOT } from './helpers.js';
import { startTestServer } from './servers.js';

const TASKS = [fixture('contract')];

function doctor(args: string[]): { code: number | null; out: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', `${ROOT}/src/cli/main.ts`, 'doctor', '--tasks', TASKS[0]!, ...args], {
    encoding: 'utf8',
    cwd: ROOT,
    timeout: 60_000,
  });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

test('a broker URL with another scheme is refused, naming it with the password masked', async () => {
  await assert.rejects(
    createCeleriac({ broker: 'amqp://guest:hunter2@mq.example:5672/', tasks: TASKS, logger: false }),
    (err: Error & { code?: string }) => {
      assert.equal(err.code, 'INVALID_CONFIG');
      assert.match(err.message, /amqp:\/\/guest:\*\*\*@mq\.example:5672\//);
      assert.match(err.message, /redis:\/\/.*postgres:\/\//);
      assert.doesNotMatch(err.message, /hunter2/);
      return true;
    },
  );
  await assert.rejects(createCeleriac({ dir: '/tmp/x', queue: 'q', tasks: TASKS, logger: false }), {
    code: 'INVALID_CONFIG',
    message: /"queue" .*needs "broker"/,
  });
});

test('an unreachable Redis or PostgreSQL: BROKER_UNREACHABLE naming the URL (password masked) and what to check', async () => {
  const port = await freePort();
  for (const url of [`redis://:hunter2@127.0.0.1:${port}`, `postgres://app:hunter2@127.0.0.1:${port}/jobs`]) {
    await assert.rejects(createCeleriac({ broker: url, tasks: TASKS, logger: false }), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'BROKER_UNREACHABLE', err.message);
      assert.ok(err.message.includes(url.replace('hunter2', '***')), err.message);
      assert.match(err.message, /runs and listens on 127\.0\.0\.1:\d+/);
      assert.doesNotMatch(err.message, /hunter2/);
      return true;
    });
  }
});

test('a Redis without its AOF is refused before anything is written; doctor says what to set', async (t) => {
  const redis = await startTestServer(
    'redis',
    (fn) => t.after(fn),
    (r) => t.skip(r),
  );
  if (!redis) return;
  const client = new Redis(redis.url);
  try {
    await client.config('SET', 'appendonly', 'no');
    await client.config('SET', 'maxmemory-policy', 'allkeys-lru');
    await assert.rejects(createCeleriac({ broker: redis.url, tasks: TASKS, logger: false }), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'BROKER_NOT_DURABLE');
      assert.ok(err.message.includes(redis.url), err.message);
      assert.match(err.message, /appendonly yes/);
      return true;
    });
    assert.deepEqual(await client.keys('*'), [], 'something was written to a broker that was refused');
    const bad = doctor(['--broker', redis.url]);
    assert.equal(bad.code, 1, bad.out);
    assert.match(bad.out, /✘ appendonly is no\n\s+fix: .*appendonly yes/);
    assert.match(bad.out, /✘ maxmemory-policy is allkeys-lru\n\s+fix: .*noeviction/);
    await client.config('SET', 'appendonly', 'yes');
    await client.config('SET', 'maxmemory-policy', 'noeviction');
    await client.config('SET', 'appendfsync', 'everysec');
    const warned = doctor(['--broker', redis.url]);
    assert.equal(warned.code, 0, warned.out);
    assert.match(warned.out, /✔ appendonly is yes/);
    assert.match(warned.out, /! appendfsync is everysec\n\s+fix: .*last second/);
  } finally {
    client.disconnect();
  }
});
