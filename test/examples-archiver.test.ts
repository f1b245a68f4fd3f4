// examples/archiver: the plugin installed in an app, archiving resources a scripted
// server on 127.0.0.1 serves. The recorded size, type and hash are checked against the
// bytes served; broken links must be findings (succeeded, broken: true), transient
// failures retries, and the record files must say what the results say.
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, test, type TestContext } from 'node:test';
import { pathToFileURL } from 'node:url';
import { createCeleriac, TaskFailedError, type Celeriac } from '../src/index.js';
import { EXAMPLES, exampleProject, run, TSX, typecheck } from './example-project.js';
import type { Archival } from '../examples/archiver/tasks.js'; // the example's own result type
import { sleep } from './helpers.js';

const PLUGIN = EXAMPLES.archiver;

/** 300 kB of known bytes, and their sha256. */
const BYTES = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 31 + 7) & 0xff));
const BYTES_SHA256 = createHash('sha256').update(BYTES).digest('hex');

type Handler = (req: IncomingMessage, res: ServerResponse, n: number) => void;

/** A server on 127.0.0.1: path → handler (n counts that path's requests, from 1). Unknown paths: 404. */
async function resources(t: TestContext, routes: Record<string, Handler>) {
  const hits: Record<string, number> = {};
  let closedEarly = 0;
  const server = createServer((req, res) => {
    const path = req.url ?? '/';
    hits[path] = (hits[path] ?? 0) + 1;
    res.on('close', () => {
      if (!res.writableFinished) closedEarly++;
    });
    const handler = routes[path];
    if (handler) handler(req, res, hits[path]!);
    else res.writeHead(404).end('no such resource');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { base, hits, closedEarly: () => closedEarly };
}

/** Serve BYTES in 64 kB writes. */
const serveBytes: Handler = (_req, res) => {
  res.writeHead(200, { 'content-type': 'text/csv; charset=utf-8', 'content-length': BYTES.length });
  for (let i = 0; i < BYTES.length; i += 65_536) res.write(BYTES.subarray(i, i + 65_536));
  res.end();
};

/** One app with the plugin installed, shared by the tests of this file; each test gets its own record dir. */
let shared: Promise<{ project: string; app: Celeriac }> | undefined;
const cleanups: (() => unknown)[] = [];
after(async () => {
  for (const fn of cleanups.reverse()) await fn();
});
const fileScope = { after: (fn: () => unknown) => void cleanups.push(fn) };
async function setup(name: string) {
  const { project, app } = await (shared ??= (async () => {
    const project = await exampleProject(fileScope, ['archiver'], 'celeriac-archiver-app-');
    const app = await createCeleriac({ dir: join(project, '.celeriac'), cwd: project, plugins: [PLUGIN], concurrency: 2, logger: false });
    cleanups.push(() => app.close({ timeout: 1 }));
    await app.start();
    return { project, app };
  })());
  return { app, outDir: join(project, 'records', name) };
}

const readRecord = async (file: string) => JSON.parse(await readFile(file, 'utf8')) as Omit<Archival, 'record'>;

test('records size, content type and sha256 of the bytes served, and writes the record file', async (t) => {
  const srv = await resources(t, {
    '/rainfall.csv': serveBytes,
    '/old/rainfall.csv': (_req, res) => res.writeHead(301, { location: '/rainfall.csv' }).end(),
  });
  const { app, outDir } = await setup('recorded');
  const job = await app.send<Archival>('archiver.update', [`${srv.base}/rainfall.csv`, { outDir, resourceId: 'rainfall' }], {
    id: 'archive:rainfall',
  });
  const a = await job.result({ timeout: 20 });

  assert.equal(a.broken, false);
  assert.equal(a.status, 200);
  assert.equal(a.size, BYTES.length);
  assert.equal(a.contentType, 'text/csv; charset=utf-8');
  assert.equal(a.sha256, BYTES_SHA256);
  assert.equal(a.finalUrl, undefined, 'no redirect');
  assert.equal(a.jobId, 'archive:rainfall');
  assert.equal(a.record, join(outDir, 'rainfall.json'));
  const { record, ...rest } = a;
  assert.deepEqual(await readRecord(record), rest, 'the record file holds the result');

  // Through a redirect, the record says where it led; the hash is the same.
  const moved = await app.send<Archival>('archiver.update', [`${srv.base}/old/rainfall.csv`, { outDir }]);
  const m = await moved.result({ timeout: 20 });
  assert.equal(m.sha256, BYTES_SHA256);
  assert.equal(m.finalUrl, `${srv.base}/rainfall.csv`);
  assert.match(m.resourceId, /^[0-9a-f]{16}$/, 'without a resourceId, the record is named after the URL');
  assert.deepEqual((await readdir(outDir)).sort(), [`${m.resourceId}.json`, 'rainfall.json'].sort(), 'no temp files left');
});

test('404, 410 and 403 are broken links: the job succeeds with { broken: true, reason }', async (t) => {
  const srv = await resources(t, {
    '/gone': (_req, res) => res.writeHead(410).end(),
    '/secret': (_req, res) => res.writeHead(403).end(),
  });
  const { app, outDir } = await setup('broken');
  const cases = {
    missing: ['/nothing-here', 'HTTP 404 Not Found', 404],
    gone: ['/gone', 'HTTP 410 Gone', 410],
    secret: ['/secret', 'HTTP 403 Forbidden', 403],
  } as const;
  for (const [resourceId, [path, reason, status]] of Object.entries(cases)) {
    const job = await app.send<Archival>('archiver.update', [`${srv.base}${path}`, { outDir, resourceId }]);
    const a = await job.result({ timeout: 20 });
    assert.equal(a.broken, true, resourceId);
    assert.equal(a.reason, reason);
    assert.equal(a.status, status);
    assert.equal(a.sha256, undefined);
    const info = (await app.get(job.id))!;
    assert.equal(info.state, 'succeeded', 'a broken link is a finding, not a failure');
    assert.equal(info.retries, 0, 'and is not retried');
    const rec = await readRecord(a.record);
    assert.equal(rec.broken, true);
    assert.equal(rec.reason, reason);
  }
  assert.equal(srv.hits['/gone'], 1);
});

test('a host name that cannot resolve is a broken link (DNS failure)', async (t) => {
  const { app, outDir } = await setup('dns');
  // A 64-octet label is not a valid DNS name (at most 63): the resolver fails it with
  // ENOTFOUND without sending a query, so this test stays on the machine.
  const host = `${'x'.repeat(64)}.invalid`;
  const job = await app.send<Archival>('archiver.update', [`http://${host}/data.csv`, { outDir, resourceId: 'nowhere' }], {
    retryDelay: 0.05,
  });
  const a = await job.result({ timeout: 20 });
  assert.equal(a.broken, true);
  assert.equal(a.reason, `DNS lookup failed: no such host "${host}" (ENOTFOUND)`);
  assert.equal((await app.get(job.id))!.retries, 0);
  assert.equal((await readRecord(a.record)).broken, true);
});

test('transient failures (503, a timeout, a reset connection, a cut-off body) are retried, then the resource is archived', async (t) => {
  const srv = await resources(t, {
    '/flaky.csv': (req, res, n) => {
      if (n === 1) res.writeHead(503).end('busy');
      else if (n === 2)
        return; // no answer: the download's timeout fires
      else if (n === 3)
        req.socket.resetAndDestroy(); // ECONNRESET
      else if (n === 4) {
        res.writeHead(200, { 'content-length': BYTES.length });
        res.write(BYTES.subarray(0, 1000), () => req.socket.destroy()); // the body stops short
      } else serveBytes(req, res, n);
    },
  });
  const { app, outDir } = await setup('transient');
  const job = await app.send<Archival>('archiver.update', [`${srv.base}/flaky.csv`, { outDir, timeout: 1 }], { retryDelay: 0.05 });
  const a = await job.result({ timeout: 30 });

  assert.equal(a.broken, false);
  assert.equal(a.sha256, BYTES_SHA256);
  assert.equal(a.size, BYTES.length);
  assert.equal(a.attempt, 5);
  assert.equal(srv.hits['/flaky.csv'], 5, 'four transient failures, then the download');
  const info = (await app.get(job.id))!;
  assert.equal(info.state, 'succeeded');
  assert.equal(info.retries, 4);
  assert.equal(info.attempts, 5);
});

test('when the retries run out, the job fails with the last transient error, and no record is written', async (t) => {
  const srv = await resources(t, { '/down.csv': (_req, res) => res.writeHead(503).end() });
  const { app, outDir } = await setup('exhausted');
  const job = await app.send<Archival>('archiver.update', [`${srv.base}/down.csv`, { outDir, resourceId: 'down' }], {
    retryDelay: 0.02,
    maxRetries: 2,
  });
  await assert.rejects(job.result({ timeout: 20 }), (e: unknown) => {
    assert.ok(e instanceof TaskFailedError, String(e));
    assert.equal(e.remote.name, 'TransientError');
    assert.match(e.remote.message, /\/down\.csv: HTTP 503 Service Unavailable \(gave up after 2 retries; maxRetries is 2\)$/);
    return true;
  });
  assert.equal(srv.hits['/down.csv'], 3);
  assert.equal((await app.get(job.id))!.state, 'failed');
  await assert.rejects(readdir(outDir), { code: 'ENOENT' });
});

test('a body over maxBytes is not downloaded whole, whether its length is declared or not', async (t) => {
  const srv = await resources(t, {
    '/declared.bin': (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': 5000 });
      res.end(Buffer.alloc(5000));
    },
    '/streamed.bin': (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' }); // chunked: no length up front
      let sent = 0;
      const tick = setInterval(() => {
        if (res.destroyed || sent >= 40) {
          clearInterval(tick);
          res.end();
          return;
        }
        res.write(Buffer.alloc(512));
        sent++;
      }, 10);
    },
  });
  const { app, outDir } = await setup('too-large');
  const declared = await (await app.send<Archival>('archiver.update', [`${srv.base}/declared.bin`, { outDir, maxBytes: 1000 }])).result({
    timeout: 20,
  });
  assert.equal(declared.tooLarge, true);
  assert.equal(declared.broken, false);
  assert.equal(declared.size, 5000);
  assert.equal(declared.sha256, undefined);
  assert.match(declared.reason!, /Content-Length 5000 is over the limit of 1000 bytes/);

  const streamed = await (await app.send<Archival>('archiver.update', [`${srv.base}/streamed.bin`, { outDir, maxBytes: 1000 }])).result({
    timeout: 20,
  });
  assert.equal(streamed.tooLarge, true);
  assert.equal(streamed.sha256, undefined);
  assert.ok(streamed.size! > 1000 && streamed.size! < 40 * 512, `stopped reading at ${streamed.size} bytes`);
  await sleep(100);
  assert.ok(srv.closedEarly() >= 1, 'the client hung up instead of reading the rest');
});

test('classifyFetchError: which network errors are broken links, which are transient', async (t) => {
  const project = await exampleProject(t, ['archiver'], 'celeriac-archiver-unit-');
  const { classifyFetchError } = (await import(pathToFileURL(join(project, 'node_modules', PLUGIN, 'tasks.ts')).href)) as {
    classifyFetchError: (err: unknown) => { kind: string; reason?: string; code?: string };
  };
  const fetchFailed = (cause: object) => Object.assign(new TypeError('fetch failed'), { cause });
  const sys = (code: string, extra: object = {}) => Object.assign(new Error(`${code} happened`), { code, ...extra });

  assert.deepEqual(classifyFetchError(fetchFailed(sys('ENOTFOUND', { hostname: 'nowhere.example' }))), {
    kind: 'broken',
    reason: 'DNS lookup failed: no such host "nowhere.example" (ENOTFOUND)',
  });
  assert.equal(classifyFetchError(fetchFailed(sys('CERT_HAS_EXPIRED'))).kind, 'broken');
  assert.deepEqual(classifyFetchError(fetchFailed(new Error('redirect count exceeded'))), { kind: 'broken', reason: 'too many redirects' });
  for (const code of ['ECONNRESET', 'ECONNREFUSED', 'EAI_AGAIN', 'UND_ERR_SOCKET']) {
    assert.deepEqual(classifyFetchError(fetchFailed(sys(code))), { kind: 'transient', reason: `${code} happened`, code }, code);
  }
  // "terminated" mid-body: the socket error is one level deeper.
  assert.equal(classifyFetchError(Object.assign(new TypeError('terminated'), { cause: sys('UND_ERR_SOCKET') })).kind, 'transient');
  assert.deepEqual(classifyFetchError(new Error('a bug in the task')), { kind: 'unknown' });
  assert.deepEqual(classifyFetchError('not even an error'), { kind: 'unknown' });
});

test('the host script embeds the plugin in an app and runs it end to end', async (t) => {
  const project = await exampleProject(t, ['archiver'], 'celeriac-archiver-host-');
  const res = await run(process.execPath, ['--import', TSX, join('node_modules', PLUGIN, 'host.ts')], { cwd: project, timeout: 45_000 });
  assert.equal(res.code, 0, `host.ts exited ${res.code}\n${res.stdout}\n${res.stderr}`);
  const csv = 'station,year,rainfall_mm\nAberdeen,2024,812\nBergen,2024,2250\n';
  const sha = createHash('sha256').update(csv).digest('hex');
  assert.match(
    res.stdout,
    new RegExp(`rainfall +${csv.length} bytes, text/csv; charset=utf-8, sha256 ${sha.slice(0, 16)}… +\\[attempts 1, retries 0\\]`),
  );
  assert.match(res.stdout, /gone +BROKEN \(HTTP 404 Not Found\) +\[attempts 1, retries 0\]/);
  assert.match(res.stdout, /flaky +12 bytes, application\/json, .*\[attempts 2, retries 1\]/);
  const rec = await readRecord(join(project, 'archive', 'rainfall.json'));
  assert.equal(rec.sha256, sha);
});

test('the example type-checks (strict) as installed in an app', async (t) => {
  const project = await exampleProject(t, ['archiver'], 'celeriac-archiver-tsc-');
  const dir = join('node_modules', PLUGIN);
  const res = await typecheck(project, [join(dir, 'celeriac.ts'), join(dir, 'tasks.ts'), join(dir, 'host.ts')]);
  assert.equal(res.code, 0, `tsc:\n${res.stdout}${res.stderr}`);
});
