// The dashboard's server side over real HTTP: login and its refusals, the Origin check,
// read-only, the JSON API (search by id and args, pages, cancel, retry, forget), the event
// stream's batching and resume, mounting under a base path, and `celeriac dashboard`'s
// refusal to listen beyond loopback without a token.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { celeriac, ensureBuilt, explain } from './cli-helpers.js';
import { bearer, loginCookie, mountDashboard, readEvents } from './dashboard-helpers.js';
import { allThreadsLoaded, fixture, openApp, tempDir, waitFor } from './helpers.js';

test('without a token: 401 on the page, the API and the event stream; a wrong token is refused too', async (t) => {
  const m = await mountDashboard(t);
  for (const path of ['', 'index.html', 'api/overview', 'api/jobs', 'api/events', 'api/tasks']) {
    const res = await fetch(`${m.base}${path}`, { redirect: 'manual' });
    assert.equal(res.status, 401, `GET /${path}`);
    await res.arrayBuffer();
  }
  const wrong = await fetch(`${m.base}?token=not-the-token-at-all`, { redirect: 'manual' });
  assert.equal(wrong.status, 401);
  assert.equal(wrong.headers.get('set-cookie'), null);
  const wrongBearer = await fetch(`${m.base}api/overview`, { headers: { Authorization: 'Bearer not-the-token-at-all' } });
  assert.equal(wrongBearer.status, 401);
});

test('the token logs in once: a HttpOnly SameSite=Strict cookie, then pages, API and stream answer; every page carries a self-only CSP', async (t) => {
  const m = await mountDashboard(t);
  assert.ok(m.handler.token && m.handler.token.length >= 16, 'a random token by default');
  const login = await fetch(`${m.base}?token=${encodeURIComponent(m.handler.token)}`, { redirect: 'manual' });
  assert.equal(login.status, 303);
  assert.equal(login.headers.get('location'), '/', 'the token is dropped from the URL');
  const setCookie = login.headers.get('set-cookie')!;
  assert.match(setCookie, /HttpOnly/);
  assert.match(setCookie, /SameSite=Strict/);
  assert.doesNotMatch(setCookie, new RegExp(m.handler.token), 'the cookie is not the token itself');
  const cookie = setCookie.split(';')[0]!;
  const page = await fetch(m.base, { headers: { cookie } });
  assert.equal(page.status, 200);
  assert.match(await page.text(), /<script type="module" src="\.\/assets\/app\.js">/);
  const csp = page.headers.get('content-security-policy')!;
  assert.match(csp, /default-src 'self'/);
  assert.match(csp, /script-src 'self'(;|$)/, 'no inline scripts, no eval');
  const api = await fetch(`${m.base}api/overview`, { headers: { cookie } });
  assert.equal(api.status, 200);
  const overview = (await api.json()) as { counts: Record<string, number>; readOnly: boolean };
  assert.equal(overview.counts.pending, 0);
  assert.equal(overview.readOnly, false);
  const frames = await readEvents(`${m.base}api/events`, { cookie }, (f) => f.length > 0);
  assert.equal(frames[0]!.event, 'hello');
});

test('a state-changing request from a foreign Origin gets 403 and changes nothing; from the page itself it works', async (t) => {
  const m = await mountDashboard(t);
  const cookie = await loginCookie(m);
  const job = await m.app.send('demo.wait', [`${await tempDir(t)}/marker`], { countdown: 3600 });
  const cancel = (headers: Record<string, string>) =>
    fetch(`${m.base}api/jobs/${job.id}/cancel`, { method: 'POST', headers: { cookie, ...headers } });
  for (const headers of [
    { Origin: 'http://evil.example' },
    { Origin: 'null' },
    {},
    { Origin: m.origin, 'Sec-Fetch-Site': 'cross-site' },
  ] as Record<string, string>[]) {
    const res = await cancel(headers);
    assert.equal(res.status, 403, JSON.stringify(headers));
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'FOREIGN_ORIGIN');
    assert.equal((await m.app.get(job.id))!.state, 'pending', 'nothing was cancelled');
  }
  const ok = await cancel({ Origin: m.origin });
  assert.equal(ok.status, 200);
  assert.equal((await m.app.get(job.id))!.state, 'cancelled');
  // A script with the bearer token sends no Origin: that is not a browser riding on a cookie.
  const again = await m.app.send('demo.echo', ['x'], { countdown: 3600 });
  const byScript = await fetch(`${m.base}api/jobs/${again.id}/cancel`, { method: 'POST', headers: bearer(m) });
  assert.equal(byScript.status, 200);
});

test('read-only: the overview says so, and cancel, retry and forget are refused with 403', async (t) => {
  const m = await mountDashboard(t, { readOnly: true });
  const job = await m.app.send('demo.echo', ['x'], { countdown: 3600 });
  const overview = (await (await fetch(`${m.base}api/overview`, { headers: bearer(m) })).json()) as { readOnly: boolean };
  assert.equal(overview.readOnly, true);
  for (const action of ['cancel', 'retry', 'forget']) {
    const res = await fetch(`${m.base}api/jobs/${job.id}/${action}`, { method: 'POST', headers: { ...bearer(m), Origin: m.origin } });
    assert.equal(res.status, 403, action);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'READ_ONLY');
  }
  assert.equal((await m.app.get(job.id))!.state, 'pending');
  assert.equal((await m.app.list({})).jobs.length, 1, 'no retry was sent');
});

test('jobs API: search by id is a lookup, search by args text finds the job, pages cover every job once', async (t) => {
  const m = await mountDashboard(t);
  const handles = await m.app.sendMany(
    'demo.echo',
    Array.from({ length: 120 }, (_, i) => [`item-${i}`]),
    { countdown: 3600 },
  );
  const get = async (q: string) =>
    (await (await fetch(`${m.base}api/jobs?${q}`, { headers: bearer(m) })).json()) as {
      jobs: { id: string; args: string }[];
      next?: string;
      match?: string;
    };
  const byId = await get(`q=${handles[7]!.id}`);
  assert.equal(byId.match, 'id');
  assert.deepEqual(
    byId.jobs.map((j) => j.id),
    [handles[7]!.id],
  );
  const byArgs = await get('q=ITEM-42');
  assert.equal(byArgs.match, 'args');
  assert.deepEqual(
    byArgs.jobs.map((j) => j.id),
    [handles[42]!.id],
    'case-insensitive, and "item-42" does not match item-4 or item-420',
  );
  const seen = new Set<string>();
  let after: string | undefined;
  let pages = 0;
  do {
    const page = await get(`limit=50${after ? `&after=${encodeURIComponent(after)}` : ''}`);
    for (const j of page.jobs) {
      assert.ok(!seen.has(j.id), `${j.id} listed twice`);
      seen.add(j.id);
    }
    after = page.next;
    pages++;
  } while (after && pages < 10);
  assert.equal(pages, 3);
  assert.equal(seen.size, 120);
  const bad = await fetch(`${m.base}api/jobs?state=bogus`, { headers: bearer(m) });
  assert.equal(bad.status, 400);
  assert.match(((await bad.json()) as { error: { message: string } }).error.message, /state must be one of pending/);
});

test('one job: args, error with its cause chain, a timeline; retry sends a new job with the same args; forget drops a finished one', async (t) => {
  const m = await mountDashboard(t);
  const h = await m.app.send('demo.boom', ['it broke']);
  await assert.rejects(h.result({ timeout: 30 }), { code: 'JOB_FAILED' });
  const post = (id: string, action: string) =>
    fetch(`${m.base}api/jobs/${id}/${action}`, { method: 'POST', headers: { ...bearer(m), Origin: m.origin } });
  const one = (await (await fetch(`${m.base}api/jobs/${h.id}`, { headers: bearer(m) })).json()) as any;
  assert.deepEqual(one.args, ['it broke']);
  assert.equal(one.state, 'failed');
  assert.equal(one.error.name, 'TypeError');
  assert.equal(one.error.cause.message, 'the root cause');
  assert.deepEqual(
    one.timeline.map((e: { type: string }) => e.type),
    ['received', 'started', 'failed'],
  );
  const retried = await post(h.id, 'retry');
  assert.equal(retried.status, 201);
  const { id } = (await retried.json()) as { id: string };
  assert.notEqual(id, h.id);
  assert.deepEqual((await m.app.get(id))!.args, ['it broke']);
  assert.equal((await m.app.get(id))!.task, 'demo.boom');
  const forgot = await post(h.id, 'forget');
  assert.equal(forgot.status, 200);
  assert.equal(await m.app.get(h.id), undefined);
  assert.equal((await fetch(`${m.base}api/jobs/${h.id}`, { headers: bearer(m) })).status, 404);
  const waiting = await m.app.send('demo.echo', ['later'], { countdown: 3600 });
  const refused = await post(waiting.id, 'forget');
  assert.equal(refused.status, 409, 'an unfinished job is not forgotten');
  assert.equal((await m.app.get(waiting.id))!.state, 'pending');
});

test('live events come in batches (at most one per 250 ms), and a reconnect with Last-Event-ID gets what it missed', async (t) => {
  const m = await mountDashboard(t);
  const url = `${m.base}api/events`;
  const began = Date.now();
  let sending: Promise<void> | undefined;
  // Sent once the stream is open (its first frame came), so that it sees every event.
  const send = () => {
    sending = (async () => {
      for (let i = 0; i < 20; i++) {
        await m.app.sendMany(
          'demo.echo',
          Array.from({ length: 10 }, () => ['x']),
          { countdown: 3600 },
        );
        await new Promise((r) => setTimeout(r, 40));
      }
    })();
  };
  const count = (frames: { event?: string; data?: string }[]) =>
    frames.filter((f) => f.event === 'batch').reduce((n, f) => n + (JSON.parse(f.data!) as { events: unknown[] }).events.length, 0);
  const frames = await readEvents(url, bearer(m), (f) => count(f) >= 200, 30_000, send);
  await sending;
  const elapsed = Date.now() - began;
  const batches = frames.filter((f) => f.event === 'batch');
  // At most one batch per 250 ms over the whole time the events were made and read.
  assert.ok(batches.length <= Math.ceil(elapsed / 250) + 1, `200 events in ${elapsed} ms came in ${batches.length} batches`);
  for (let i = 1; i < batches.length; i++) assert.equal(Number(batches[i]!.id), Number(batches[i - 1]!.id) + 1, 'ids increase by one');
  const last = batches[batches.length - 1]!.id!;
  // Missed while disconnected: replayed on reconnect, no reset.
  const missed = await m.app.send('demo.echo', ['while away'], { countdown: 3600 });
  await waitFor(
    async () => {
      const f = await readEvents(url, { ...bearer(m), 'Last-Event-ID': last }, (fr) => fr.length > 0);
      return f[0]!.event === 'batch' && Number(f[0]!.id) > Number(last) ? f : undefined;
    },
    10_000,
    'a replayed batch',
  );
  const resumed = await readEvents(url, { ...bearer(m), 'Last-Event-ID': last }, (f) => f.some((x) => x.data?.includes(missed.id)));
  assert.ok(
    resumed.every((f) => f.event === 'batch'),
    `only batches, no reset: ${resumed.map((f) => f.event).join(',')}`,
  );
  // An id this stream never gave (an earlier process's): reset, the page reloads.
  const stale = await readEvents(url, { ...bearer(m), 'Last-Event-ID': '999999' }, (f) => f.length > 0);
  assert.equal(stale[0]!.event, 'reset');
});

test('mounted under a basePath: only its paths are the dashboard, the rest goes to next()', async (t) => {
  const m = await mountDashboard(t, { basePath: '/admin/jobs/' });
  assert.equal(m.handler.loginPath!.startsWith('/admin/jobs/?token='), true);
  const outside = await fetch(`${m.origin}/other`);
  assert.equal(outside.status, 418);
  const inside = await fetch(`${m.origin}/admin/jobs/api/overview`, { headers: bearer(m) });
  assert.equal(inside.status, 200);
  const asset = await fetch(`${m.origin}/admin/jobs/assets/vendor/preact.js`);
  assert.equal(asset.status, 200, "assets need no login (they are the package's own files)");
  assert.match(asset.headers.get('content-type')!, /javascript/);
  const hooks = await (await fetch(`${m.origin}/admin/jobs/assets/vendor/hooks.js`)).text();
  assert.doesNotMatch(hooks, /from\s*["']preact["']/, 'no bare specifier left for the browser');
  assert.throws(() => m.app.dashboard({ basePath: 'admin' }), /basePath must be a URL path starting with "\/"/);
  assert.throws(() => m.app.dashboard({ token: 'short' }), /at least 16 characters/);
});

test('`authorize` replaces the token: the host app decides', async (t) => {
  const m = await mountDashboard(t, { authorize: (req) => req.headers['x-admin'] === 'yes' });
  assert.equal(m.handler.token, undefined);
  assert.equal((await fetch(`${m.base}api/overview`)).status, 401);
  assert.equal((await fetch(`${m.base}api/overview`, { headers: { 'x-admin': 'yes' } })).status, 200);
});

test('celeriac dashboard --host 0.0.0.0 without a token refuses to start; with loopback it prints a login link that works', async (t) => {
  ensureBuilt();
  const cwd = await tempDir(t);
  const tasks = fixture('basic');
  const refused = await celeriac(t, cwd, ['dashboard', '--host', '0.0.0.0', '--port', '0', '--dir', 'data', '--tasks', tasks]);
  assert.equal(refused.code, 2, explain(refused));
  assert.match(refused.stderr, /--host 0\.0\.0\.0: refusing to listen beyond this machine without a token/);
  assert.match(refused.stderr, /--token/);
  const { spawn } = await import('node:child_process');
  const { BIN } = await import('./cli-helpers.js');
  const child = spawn(process.execPath, [BIN, 'dashboard', '--port', '0', '--dir', 'data', '--tasks', tasks], {
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => void child.kill('SIGKILL'));
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  const link = await waitFor(() => /open \(logs in\): (http:\/\/127\.0\.0\.1:\d+\/\?token=\S+)/.exec(out)?.[1], 60_000, 'the login link');
  const login = await fetch(link, { redirect: 'manual' });
  assert.equal(login.status, 303);
  const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
  const overview = await fetch(new URL('/api/overview', link), { headers: { cookie } });
  assert.equal(overview.status, 200);
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  child.kill('SIGTERM');
  assert.equal(await exited, 0);
});

test('a first page reused across clients (it costs a scan) says when to ask again once jobs changed, and then shows them', async (t) => {
  const m = await mountDashboard(t);
  const get = async () =>
    (await (await fetch(`${m.base}api/jobs`, { headers: bearer(m) })).json()) as { jobs: { id: string }[]; retryInMs?: number };
  assert.deepEqual((await get()).jobs, []);
  const h = await m.app.send('demo.echo', ['new'], { countdown: 3600 });
  const again = await get();
  if (!again.jobs.some((j) => j.id === h.id)) {
    assert.ok(again.retryInMs !== undefined && again.retryInMs > 0, `a stale page says when to ask again: ${JSON.stringify(again)}`);
    await new Promise((r) => setTimeout(r, again.retryInMs));
    assert.ok(
      (await get()).jobs.some((j) => j.id === h.id),
      'asked again then: the new job is there',
    );
  }
});

test('tasks, workers and schedules pages: options and counts seen, threads and generation, an empty state without periodic tasks', async (t) => {
  const m = await mountDashboard(t);
  const h = await m.app.send('demo.echo', ['hi']);
  await h.result({ timeout: 30 });
  await assert.rejects(
    m.app.send('demo.boom', ['no']).then((b) => b.result({ timeout: 30 })),
    { code: 'JOB_FAILED' },
  );
  const api = async (path: string) => (await (await fetch(`${m.base}api/${path}`, { headers: bearer(m) })).json()) as any;
  const tasks = await api('tasks');
  const echo = tasks.tasks.find((x: { name: string }) => x.name === 'demo.echo');
  assert.match(echo.file, /fixtures[\\/]dashboard[\\/]tasks\.ts$/);
  assert.equal(echo.options.maxRetries, 3);
  assert.deepEqual([echo.stats.received, echo.stats.succeeded, echo.stats.failed], [1, 1, 0]);
  assert.equal(typeof echo.stats.meanRunMs, 'number');
  const boom = tasks.tasks.find((x: { name: string }) => x.name === 'demo.boom');
  assert.deepEqual([boom.stats.received, boom.stats.succeeded, boom.stats.failed], [1, 0, 1]);
  await allThreadsLoaded(m.app);
  const workers = await api('workers');
  assert.equal(workers.available, true);
  assert.equal(workers.generation, 0);
  assert.equal(workers.slots, 2);
  assert.equal(workers.threads.filter((w: { state: string }) => w.state === 'active').length, 2);
  assert.ok(workers.memory.rss > 0);
  assert.deepEqual(
    await api('schedules'),
    { available: true, canRun: true, schedules: [] },
    'schedules are available, and none is declared',
  );
  const overview = await api('overview');
  assert.equal(overview.series.t.length, 3600, 'an hour of seconds');
  assert.equal(
    overview.series.succeeded.reduce((a: number, b: number) => a + b, 0),
    1,
  );
  assert.equal(
    overview.series.failed.reduce((a: number, b: number) => a + b, 0),
    1,
  );
  assert.deepEqual(overview.busy, { busy: 0, slots: 2 });
});

test("run now: a schedule's task and args sent at once as a job of its own; from a foreign Origin 403, read-only 403, an unknown name 404", async (t) => {
  const app = await openApp(t, {
    tasks: [fixture('dashboard')],
    start: true,
    schedules: { yearly: { cron: '0 0 1 1 *', task: 'demo.echo', args: ['from the schedule'] } },
  });
  const m = await mountDashboard(t, {}, app);
  const cookie = await loginCookie(m);
  const schedules = (await (await fetch(`${m.base}api/schedules`, { headers: bearer(m) })).json()) as {
    canRun: boolean;
    schedules: { name: string; last?: unknown }[];
  };
  assert.equal(schedules.canRun, true);
  assert.deepEqual(
    schedules.schedules.map((s) => [s.name, s.last]),
    [['yearly', undefined]],
  );
  const run = (name: string, headers: Record<string, string>) =>
    fetch(`${m.base}api/schedules/${name}/run`, { method: 'POST', headers: { cookie, ...headers } });

  const foreign = await run('yearly', { Origin: 'http://evil.example' });
  assert.equal(foreign.status, 403);
  assert.equal(((await foreign.json()) as { error: { code: string } }).error.code, 'FOREIGN_ORIGIN');
  assert.deepEqual((await app.list({})).jobs, [], 'nothing was sent');

  const res = await run('yearly', { Origin: m.origin });
  assert.equal(res.status, 201);
  const { id } = (await res.json()) as { id: string };
  assert.match(id, /^yearly@manual-\d+$/);
  const job = await waitFor(
    async () => {
      const j = await app.get(id);
      return j?.state === 'succeeded' ? j : undefined;
    },
    30_000,
    'the run-now job to succeed',
  );
  assert.equal(job.task, 'demo.echo');
  assert.deepEqual(job.args, ['from the schedule']);
  assert.equal(job.result, 'from the schedule');
  assert.equal(job.runAt, undefined, 'it runs now, not at a slot');
  // The schedule's own slots are untouched: its last run is still none.
  assert.equal(app.schedules[0]!.lastRun, undefined);

  const unknown = await run('nightly', { Origin: m.origin });
  assert.equal(unknown.status, 404);
  const err = ((await unknown.json()) as { error: { code: string; message: string } }).error;
  assert.equal(err.code, 'UNKNOWN_SCHEDULE');
  assert.match(err.message, /"nightly".*schedules: yearly/);

  const ro = await mountDashboard(t, { readOnly: true }, app);
  const roSchedules = (await (await fetch(`${ro.base}api/schedules`, { headers: bearer(ro) })).json()) as { canRun: boolean };
  assert.equal(roSchedules.canRun, false);
  const refused = await fetch(`${ro.base}api/schedules/yearly/run`, { method: 'POST', headers: { ...bearer(ro), Origin: ro.origin } });
  assert.equal(refused.status, 403);
  assert.equal(((await refused.json()) as { error: { code: string } }).error.code, 'READ_ONLY');
  assert.equal((await app.list({})).jobs.length, 1, 'only the one run-now job');
});
