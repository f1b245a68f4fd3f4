// examples/webhooks: the plugin installed in an app, notifying a scripted subscriber on
// 127.0.0.1. What the subscriber saw (requests, keys, bodies) and what the job record
// says (state, attempts, retries, error) are the assertions.
import { strict as assert } from 'node:assert';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { rm, symlink, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, test, type TestContext } from 'node:test';
import { readJobs } from '../src/admin.js';
import { createCeleriac, TaskFailedError, type Celeriac } from '../src/index.js';
import { EXAMPLES, exampleProject, run, TSX, typecheck } from './example-project.js';
import { ensureBuilt } from './cli-helpers.js';
import { ROOT, sleep } from './helpers.js';

const PLUGIN = EXAMPLES.webhooks;

interface Seen {
  key: string | undefined;
  attemptHeader: string | undefined;
  body: unknown;
  headers: IncomingHttpHeaders;
  at: number;
}

/** A subscriber on 127.0.0.1 whose answer to the n-th request (1-based) is `script(n, req, res)`. */
async function subscriber(t: TestContext, script: (n: number, req: IncomingMessage, res: ServerResponse) => void) {
  const seen: Seen[] = [];
  let abandoned = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      seen.push({
        key: req.headers['idempotency-key'] as string | undefined,
        attemptHeader: req.headers['x-delivery-attempt'] as string | undefined,
        body: text ? JSON.parse(text) : undefined,
        headers: req.headers,
        at: Date.now(),
      });
      res.on('close', () => {
        if (!res.writableFinished) abandoned++; // the client gave up before an answer
      });
      script(seen.length, req, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`, seen, abandoned: () => abandoned };
}

const status = (code: number) => (_n: number, _req: IncomingMessage, res: ServerResponse) =>
  res.writeHead(code, { 'content-type': 'application/json' }).end('{}');

/** One app with the plugin installed, shared by the tests of this file (each uses its own subscriber and ids). */
let shared: Promise<Celeriac> | undefined;
const cleanups: (() => unknown)[] = [];
after(async () => {
  for (const fn of cleanups.reverse()) await fn();
});
const fileScope = { after: (fn: () => unknown) => void cleanups.push(fn) };
function appWithPlugin(): Promise<Celeriac> {
  return (shared ??= (async () => {
    const project = await exampleProject(fileScope, ['webhooks'], 'celeriac-webhooks-app-');
    const app = await createCeleriac({ dir: join(project, '.celeriac'), cwd: project, plugins: [PLUGIN], concurrency: 1, logger: false });
    cleanups.push(() => app.close({ timeout: 1 }));
    await app.start();
    return app;
  })());
}

const change = { recordId: 'dataset-42', change: 'updated', data: { title: 'Rainfall 2024' } } as const;

test('the plugin declares webhooks.notify through taskImports', async (t) => {
  const app = await appWithPlugin();
  const notify = app.tasks.find((x) => x.name === 'webhooks.notify');
  assert.ok(notify, `tasks: ${app.tasks.map((x) => x.name).join(', ')}`);
  assert.equal(notify.plugin, PLUGIN);
  assert.match(notify.file, /node_modules[/\\]celeriac-example-webhooks[/\\]tasks\.ts$/);
});

test('5xx is retried with a doubling countdown, then delivered; every attempt carries the job id as Idempotency-Key', async (t) => {
  const sub = await subscriber(t, (n, req, res) => (n <= 2 ? status(503)(n, req, res) : status(200)(n, req, res)));
  const app = await appWithPlugin();
  const id = 'webhooks:crm:dataset-42@7';
  const job = await app.send<{ status: number; attempt: number; idempotencyKey: string }>(
    'webhooks.notify',
    [{ url: sub.url, retryDelay: 0.05 }, change],
    { id },
  );

  const delivery = await job.result({ timeout: 20 });
  assert.deepEqual(delivery, { url: sub.url, status: 200, attempt: 3, idempotencyKey: id });
  assert.equal(sub.seen.length, 3, 'two 503s, then the 200');
  assert.deepEqual(
    sub.seen.map((s) => s.key),
    [id, id, id],
    'the same Idempotency-Key on every attempt: the job id',
  );
  assert.deepEqual(
    sub.seen.map((s) => s.attemptHeader),
    ['1', '2', '3'],
  );
  for (const s of sub.seen) {
    assert.deepEqual(
      s.body,
      { event: 'record.updated', recordId: 'dataset-42', data: { title: 'Rainfall 2024' }, jobId: id },
      'the same body every time',
    );
    assert.equal(s.headers['content-type'], 'application/json');
  }
  // countdown = retryDelay · 2^retries: 50 ms, then 100 ms (lower bounds only: timers may run late).
  assert.ok(sub.seen[1]!.at - sub.seen[0]!.at >= 45, `first retry after ${sub.seen[1]!.at - sub.seen[0]!.at} ms`);
  assert.ok(sub.seen[2]!.at - sub.seen[1]!.at >= 95, `second retry after ${sub.seen[2]!.at - sub.seen[1]!.at} ms`);

  const info = (await app.get(id))!;
  assert.equal(info.state, 'succeeded');
  assert.equal(info.retries, 2);
  assert.equal(info.attempts, 3);
});

test('a subscriber that does not answer within the timeout is retried', async (t) => {
  // The first request gets no answer at all; the second a 200.
  const sub = await subscriber(t, (n, req, res) => (n === 1 ? undefined : status(200)(n, req, res)));
  const app = await appWithPlugin();
  const job = await app.send('webhooks.notify', [{ url: sub.url, timeout: 1, retryDelay: 0.05 }, change]);
  await job.result({ timeout: 20 });

  assert.equal(sub.seen.length, 2);
  assert.equal(sub.abandoned(), 1, 'the client gave up on the silent request');
  // The client's clock starts before the request reaches the server: allow for that trip.
  const gap = sub.seen[1]!.at - sub.seen[0]!.at;
  assert.ok(gap >= 800, `retried ${gap} ms after the first request arrived (timeout 1 s, countdown 50 ms)`);
  const info = (await app.get(job.id))!;
  assert.equal(info.state, 'succeeded');
  assert.equal(info.retries, 1);
});

test('a 4xx fails the job at once, with the status in a clear error', async (t) => {
  const sub = await subscriber(t, status(422));
  const app = await appWithPlugin();
  const job = await app.send('webhooks.notify', [{ url: sub.url, retryDelay: 0.05 }, change]);

  const err = await job.result({ timeout: 20 }).then(
    () => assert.fail('a 422 must fail the job'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof TaskFailedError, String(err));
  assert.equal(err.remote.name, 'DeliveryError');
  assert.match(
    err.remote.message,
    /^POST http:\/\/127\.0\.0\.1:\d+\/hooks: HTTP 422 Unprocessable Entity; the subscriber refused the notification, not retried$/,
  );
  await sleep(150); // a retry, had there been one, would have come by now
  assert.equal(sub.seen.length, 1);
  const info = (await app.get(job.id))!;
  assert.equal(info.state, 'failed');
  assert.equal(info.retries, 0);
  assert.equal(info.attempts, 1);
});

test('when the retries run out, the job fails with the last 5xx', async (t) => {
  const sub = await subscriber(t, status(502));
  const app = await appWithPlugin();
  const job = await app.send('webhooks.notify', [{ url: sub.url, retryDelay: 0.02 }, change], { maxRetries: 2 });

  await assert.rejects(job.result({ timeout: 20 }), (e: unknown) => {
    assert.ok(e instanceof TaskFailedError);
    assert.match(e.remote.message, /HTTP 502 Bad Gateway \(gave up after 2 retries; maxRetries is 2\)$/);
    return true;
  });
  assert.equal(sub.seen.length, 3, 'the first try and two retries');
  const info = (await app.get(job.id))!;
  assert.equal(info.state, 'failed');
  assert.equal(info.retries, 2);
});

test('sending the same job id twice creates one job, and the subscriber gets one delivery', async (t) => {
  const sub = await subscriber(t, status(204));
  const app = await appWithPlugin();
  const id = 'webhooks:crm:dataset-42@8';
  const args = [{ url: sub.url }, change];
  // Twice at once, and once more after the job finished.
  const [a, b] = await Promise.all([app.send('webhooks.notify', args, { id }), app.send('webhooks.notify', args, { id })]);
  assert.deepEqual([a.created, b.created].sort(), [false, true]);
  assert.equal(a.id, b.id);
  await a.result({ timeout: 20 });
  const c = await app.send('webhooks.notify', args, { id });
  assert.equal(c.created, false);
  await app.idle();
  await sleep(100);
  assert.equal(sub.seen.length, 1);
  assert.equal(sub.seen[0]!.key, id);
  assert.equal((await app.get(id))!.attempts, 1);
});

test('the host script embeds the plugin in an app and runs it end to end', async (t) => {
  const project = await exampleProject(t, ['webhooks'], 'celeriac-webhooks-host-');
  const res = await run(process.execPath, ['--import', TSX, join('node_modules', PLUGIN, 'host.ts')], { cwd: project, timeout: 45_000 });
  assert.equal(res.code, 0, `host.ts exited ${res.code}\n${res.stdout}\n${res.stderr}`);
  assert.match(res.stdout, /task webhooks\.notify: .*tasks\.ts:\d+ \(plugin celeriac-example-webhooks\)/);
  assert.match(res.stdout, /job webhooks:demo-subscriber:dataset-42@7: created true; sent again: created false/);
  assert.match(res.stdout, /→ 503 \(pretending to be down\)/);
  assert.match(res.stdout, /delivered: HTTP 200 on attempt 2, Idempotency-Key webhooks:demo-subscriber:dataset-42@7/);
  assert.match(res.stdout, /job state succeeded, attempts 2, retries 1; the subscriber saw 2 requests/);
});

test('the worker command lists the plugin task and runs a job sent by name from the command line', async (t) => {
  const project = await exampleProject(t, ['webhooks'], 'celeriac-webhooks-cli-');
  const sub = await subscriber(t, status(200));
  const config = join(project, 'celeriac.config.json');
  await writeFile(config, JSON.stringify({ dir: '.celeriac', plugins: [PLUGIN], concurrency: 1 }));
  const celeriac = (...args: string[]) =>
    run(join(project, 'node_modules', '.bin', 'celeriac'), [...args, '--config', config], { cwd: project, timeout: 45_000 });

  // No worker runs yet: the job waits in the data dir's inbox.
  const sent = await celeriac('send', 'webhooks.notify', JSON.stringify([{ url: sub.url }, change]), '--id', 'cli-1');
  assert.equal(sent.code, 0, sent.stderr);
  const worker = await celeriac('worker', '--burst');
  assert.equal(worker.code, 0, `${worker.stdout}\n${worker.stderr}`);
  assert.match(
    worker.stdout,
    /\. webhooks\.notify +\S+tasks\.ts:\d+ +\(plugin celeriac-example-webhooks\)/,
    'the banner lists the plugin task',
  );
  assert.equal(sub.seen.length, 1);
  assert.equal(sub.seen[0]!.key, 'cli-1');
  assert.equal((await readJobs(join(project, '.celeriac'))).get('cli-1')?.state, 'succeeded');
});

test('the example type-checks (strict) as installed in an app', async (t) => {
  const project = await exampleProject(t, ['webhooks'], 'celeriac-webhooks-tsc-');
  const dir = join('node_modules', PLUGIN);
  const res = await typecheck(project, [join(dir, 'celeriac.ts'), join(dir, 'tasks.ts'), join(dir, 'host.ts')]);
  assert.equal(res.code, 0, `tsc:\n${res.stdout}${res.stderr}`);
});

// The tests above run against celeriac's sources, where worker threads always load tsx.
// An app gets the built package, whose workers must load tsx for a TypeScript plugin
// although none of the app's own modules is TypeScript.
test('the plugin loads in an app that uses the built package (dist/)', async (t) => {
  ensureBuilt(); // `npm ci` no longer builds dist/ (it is built on pack)
  const project = await exampleProject(t, ['webhooks'], 'celeriac-webhooks-dist-');
  const installed = join(project, 'node_modules', 'celeriac');
  await rm(installed, { recursive: true });
  await symlink(ROOT, installed); // `npm install <clone>` links it the same way
  await writeFile(
    join(project, 'app.mjs'),
    `import { createCeleriac } from 'celeriac';\nconst app = await createCeleriac({ dir: '.celeriac', plugins: [${JSON.stringify(PLUGIN)}], concurrency: 1, logger: false });\nconsole.log(app.tasks.map((t) => t.name).join(' '));\nawait app.close();\n`,
  );
  const res = await run(process.execPath, ['app.mjs'], { cwd: project, timeout: 45_000 });
  assert.equal(res.code, 0, `${res.stdout}\n${res.stderr}`);
  assert.match(res.stdout, /webhooks\.notify/);
});
