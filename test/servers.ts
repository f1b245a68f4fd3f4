// Real brokers for the tests: a redis-server (AOF, appendfsync always) and a PostgreSQL 15
// cluster, each on 127.0.0.1 with a random port and a throwaway dir, stopped when the
// test (or suite) that started it ends, failed or not. The starting itself is the bench's
// (bench/servers.ts). Where a server cannot start, the test skips saying why; under
// CI=true (where .ci/run installs both) that is a failure instead.
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPostgres, startRedis, wipe, type RunningServer } from '../bench/servers.js';

export type BrokerKind = 'redis' | 'postgres';

export interface TestServer extends RunningServer {
  kind: BrokerKind;
  /** The URL a `broker` option takes: redis://127.0.0.1:<port> or postgres://postgres@127.0.0.1:<port>/postgres. */
  url: string;
}

/** Anything with an `after` hook: a TestContext, or node:test's suite-level `after`. */
type After = (fn: () => Promise<void> | void) => void;

/**
 * Start a server of this kind; `after` stops it and removes its dir. Resolves undefined
 * (after `skip(reason)`) where it cannot start here; throws under CI=true.
 */
export async function startTestServer(kind: BrokerKind, after: After, skip: (reason: string) => void): Promise<TestServer | undefined> {
  const root = await mkdtemp(join(tmpdir(), `celeriac-${kind}-`));
  let server: RunningServer;
  try {
    server = kind === 'redis' ? await startRedis(root, () => {}) : await startPostgres(root, () => {});
  } catch (err) {
    wipe(root);
    const reason = `${kind} could not start here: ${(err as Error).message}`;
    if (process.env.CI === 'true') assert.fail(`CI=true (where .ci/run installs redis-server and postgresql-15) but ${reason}`);
    skip(reason);
    return undefined;
  }
  after(async () => {
    await server.stop();
    wipe(root);
  });
  const url = kind === 'redis' ? `redis://${server.host}:${server.port}` : `postgres://postgres@${server.host}:${server.port}/postgres`;
  return Object.assign(server, { kind, url });
}
