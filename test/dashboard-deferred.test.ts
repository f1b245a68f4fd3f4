// app.dashboard() loads the dashboard's modules only when it is called (dashboard/deferred.ts),
// yet stays synchronous: bad options throw at the call, the token is there at once, the
// jobs sent right after the call are counted (their events come while the modules load, and
// are handed over), and a request made before they have loaded is answered.
// First in its own file, so that the dashboard's modules are not loaded yet; a load hook holds
// them back until the jobs have run, so their events surely come before the modules.
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { register } from 'node:module';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { CeleriacError } from '../src/index.js';
import { fixture, openApp, tempDir } from './helpers.js';

/** Holds the dashboard's handler module back until `release` exists (at most 60 s, then loads it anyway). */
const HOOK = `import { existsSync } from 'node:fs';
let release;
export function initialize(data) { ({ release } = data); }
export async function load(url, context, next) {
  if (/\\/dashboard\\/handler\\.(ts|js)$/.test(url))
    for (let waited = 0; !existsSync(release) && waited < 60_000; waited += 10) await new Promise((r) => setTimeout(r, 10));
  return next(url, context);
}
`;

test('app.dashboard(): checks and token at the call; jobs sent before its modules load are counted; an early request waits for them', async (t) => {
  const tmp = await tempDir(t);
  const release = join(tmp, 'release');
  writeFileSync(join(tmp, 'hook.mjs'), HOOK);
  register(pathToFileURL(join(tmp, 'hook.mjs')), { data: { release } });
  const app = await openApp(t, { tasks: [fixture('dashboard')], concurrency: 1, start: true });
  assert.throws(
    () => app.dashboard({ basePath: 'no-slash' }),
    (err: unknown) => err instanceof CeleriacError && err.code === 'INVALID_CONFIG' && /basePath/.test(err.message),
  );
  const handler = app.dashboard();
  assert.ok(handler.token && handler.token.length >= 16, 'the token is made at the call');
  assert.equal(handler.loginPath, `/?token=${encodeURIComponent(handler.token)}`);
  const sent = await Promise.all([1, 2, 3].map((n) => app.send('demo.echo', [n])));
  const server = createServer((req, res) => handler(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(
    () =>
      new Promise<void>((resolve) => {
        handler.close();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const auth = { Authorization: `Bearer ${handler.token}` };
  // Asked at once: answered when the modules have loaded.
  let answered = false;
  const early = fetch(`${origin}/api/tasks`, { headers: auth }).then((r) => {
    answered = true;
    return r;
  });
  await Promise.all(sent.map((h) => h.result()));
  assert.equal(answered, false, 'the request waits while the modules are held back');
  assert.equal(existsSync(release), false);
  writeFileSync(release, '');
  const first = await early;
  assert.equal(first.status, 200);
  await first.arrayBuffer();
  const tasks = (await (await fetch(`${origin}/api/tasks`, { headers: auth })).json()) as {
    tasks: { name: string; stats: { received: number; succeeded: number } }[];
  };
  const echo = tasks.tasks.find((x) => x.name === 'demo.echo');
  assert.deepEqual(
    { received: echo?.stats.received, succeeded: echo?.stats.succeeded },
    { received: 3, succeeded: 3 },
    'the three jobs sent right after app.dashboard() are in its stats',
  );
});
