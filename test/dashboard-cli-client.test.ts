// `celeriac dashboard` on a dir whose worker runs in another process: it reads the worker
// through its client socket (jobs, one job, counts, live events, cancel), and says that
// what the socket does not carry (worker threads, recovery) is unavailable.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { createClient } from '../src/client.js';
import { BIN, ensureBuilt, startWorker } from './cli-helpers.js';
import { readEvents } from './dashboard-helpers.js';
import { fixture, tempDir, waitFor } from './helpers.js';

test("celeriac dashboard on a running worker's dir serves that worker's jobs through its socket", async (t) => {
  ensureBuilt();
  const cwd = await tempDir(t);
  const tasks = fixture('basic');
  const worker = await startWorker(t, cwd, ['--dir', 'data', '--tasks', tasks]);
  const client = await createClient({ dir: join(cwd, 'data') });
  t.after(() => client.close());
  const done = await client.send('demo.echo', ['ran in the worker']);
  assert.equal(await done.result({ timeout: 30 }), 'ran in the worker');
  const later = await client.send('demo.echo', ['waits an hour'], { countdown: 3600 });

  const child = spawn(process.execPath, [BIN, 'dashboard', '--port', '0', '--dir', 'data', '--tasks', tasks], {
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => void child.kill('SIGKILL'));
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const link = await waitFor(
    () => {
      if (child.exitCode !== null) throw new Error(`celeriac dashboard exited ${child.exitCode}:\n${out}\n${err}`);
      return /open \(logs in\): (http:\/\/127\.0\.0\.1:\d+\/\?token=\S+)/.exec(out)?.[1];
    },
    60_000,
    'the login link',
  );
  assert.match(out, new RegExp(`a worker \\(pid ${worker.pid}\\) runs on .*reading it through its socket`));
  const login = await fetch(link, { redirect: 'manual' });
  assert.equal(login.status, 303);
  const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
  const origin = new URL(link).origin;
  const api = async (path: string, init: RequestInit = {}) => {
    const res = await fetch(`${origin}/api/${path}`, { ...init, headers: { cookie, ...(init.headers as Record<string, string>) } });
    return { status: res.status, body: (await res.json()) as any };
  };

  const jobs = await api('jobs');
  assert.equal(jobs.status, 200);
  assert.deepEqual(jobs.body.jobs.map((j: { id: string }) => j.id).sort(), [done.id, later.id].sort());
  const one = await api(`jobs/${done.id}`);
  assert.equal(one.body.state, 'succeeded');
  assert.equal(one.body.result, 'ran in the worker');
  const byId = await api(`jobs?q=${later.id}`);
  assert.equal(byId.body.match, 'id');
  const overview = await api('overview');
  assert.equal(overview.body.counts.succeeded, 1);
  assert.equal(overview.body.counts.pending, 1);
  assert.equal(overview.body.busy, undefined, 'no worker slots through the socket');
  assert.deepEqual((await api('workers')).body, { available: false });
  assert.ok(
    (await api('tasks')).body.tasks.some((x: { name: string }) => x.name === 'demo.echo'),
    'tasks from the same task paths',
  );

  // Live: a job sent now by another process shows in the event stream.
  let sent: string | undefined;
  const frames = await readEvents(
    `${origin}/api/events`,
    { cookie },
    (f) => sent !== undefined && f.some((x) => x.event === 'batch' && x.data?.includes(sent!)),
    20_000,
    () => {
      void client.send('demo.echo', ['live']).then((h) => (sent = h.id));
    },
  );
  assert.ok(frames.some((f) => f.data?.includes(sent!)));

  // Cancel in the dashboard cancels in the worker.
  const cancel = await api(`jobs/${later.id}/cancel`, { method: 'POST', headers: { Origin: origin } });
  assert.equal(cancel.status, 200, JSON.stringify(cancel.body));
  assert.equal((await client.get(later.id))?.state, 'cancelled');

  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  child.kill('SIGTERM');
  assert.equal(await exited, 0);
  assert.equal(worker.child.exitCode, null, 'the worker runs on');
});
