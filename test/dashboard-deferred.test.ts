// app.dashboard() loads the dashboard's modules only when it is called (dashboard/deferred.ts),
// yet stays synchronous: bad options throw at the call, the token is there at once, the
// jobs sent right after the call are counted (their events come while the modules load, and
// are handed over), and a request made before they have loaded is answered.
// First in its own file, so that the dashboard's modules are not loaded yet.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { appSource } from '../src/dashboard/app-source.js';
import { deferredDashboard } from '../src/dashboard/deferred.js';
import { CeleriacError } from '../src/index.js';
import { serveDashboard } from './dashboard-helpers.js';
import { fixture, openApp } from './helpers.js';

test('app.dashboard(): checks and token at the call; jobs sent before its modules load are counted; an early request waits for them', async (t) => {
  const app = await openApp(t, { tasks: [fixture('dashboard')], concurrency: 1, start: true });
  assert.throws(
    () => app.dashboard({ basePath: 'no-slash' }),
    (err: unknown) => err instanceof CeleriacError && err.code === 'INVALID_CONFIG' && /basePath/.test(err.message),
  );
  const made = app.dashboard();
  assert.ok(made.token && made.token.length >= 16, 'the token is made at the call');
  assert.equal(made.loginPath, `/?token=${encodeURIComponent(made.token)}`);
  made.close();
  // The same deferred dashboard, its modules held back until the jobs have run, so that
  // their events surely come before the modules have loaded.
  let release!: () => void;
  const released = new Promise<void>((r) => {
    release = r;
  });
  const handler = deferredDashboard(appSource(app), {}, () => released.then(() => import('../src/dashboard/handler.js')));
  const sent = await Promise.all([1, 2, 3].map((n) => app.send('demo.echo', [n])));
  const origin = await serveDashboard(t, handler);
  const auth = { Authorization: `Bearer ${handler.token}` };
  // Asked at once: answered when the modules have loaded.
  let answered = false;
  const early = fetch(`${origin}/api/tasks`, { headers: auth }).then((r) => {
    answered = true;
    return r;
  });
  await Promise.all(sent.map((h) => h.result()));
  assert.equal(answered, false, 'the request waits while the modules are held back');
  release();
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
