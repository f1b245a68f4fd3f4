// examples/archive-flow: the archiver as a workflow (a chain per URL, a group over the
// URLs, a chord summary), installed as a plugin in an app and run end to end against a
// server on 127.0.0.1. The records' hashes are checked against the bytes served.
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { createCeleriac } from '../src/index.js';
import { EXAMPLES, exampleProject } from './example-project.js';

const PLUGIN = EXAMPLES['archive-flow'];
const BODIES: Record<string, Buffer> = {
  '/a.csv': Buffer.from('id,name\n1,celeriac\n'),
  '/b.bin': Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 7) & 0xff)),
};
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

test('archive-flow example: fetch → checksum → report per URL, in parallel, then one summary of them all', {
  timeout: 180_000,
}, async (t) => {
  const server = createServer((req, res) => {
    const body = BODIES[req.url ?? ''];
    if (body) res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(body);
    else res.writeHead(404).end('no such resource');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const project = await exampleProject(t, ['archive-flow'], 'celeriac-archive-flow-');
  const { archiveAll } = (await import(
    pathToFileURL(join(project, 'node_modules', PLUGIN, 'flow.ts')).href
  )) as typeof import('../examples/archive-flow/flow.js');
  const app = await createCeleriac({ dir: join(project, '.celeriac'), cwd: project, plugins: [PLUGIN], concurrency: 2, logger: false });
  t.after(() => app.close({ timeout: 1 }));
  await app.start();
  const out = join(project, 'archive');
  const urls = [`${base}/a.csv`, `${base}/missing`, `${base}/b.bin`];
  const run = await app.sendWorkflow(archiveAll(urls, out), { id: 'archive-run' });
  const summary = (await run.result({ timeout: 120 })) as {
    total: number;
    archived: number;
    broken: number;
    bytes: number;
    file: string;
  };
  assert.deepEqual(summary, {
    total: 3,
    archived: 2,
    broken: 1,
    bytes: BODIES['/a.csv']!.length + BODIES['/b.bin']!.length,
    file: join(out, 'summary.json'),
  });

  const written = JSON.parse(await readFile(summary.file, 'utf8')) as {
    reports: { url: string; sha256?: string; broken?: string; record: string }[];
  };
  assert.deepEqual(
    written.reports.map((r) => r.url),
    urls,
    'the summary lists the reports in the order of the URLs',
  );
  for (const r of written.reports) {
    const served = BODIES[new URL(r.url).pathname];
    if (served) assert.equal(r.sha256, sha(served), `${r.url}: the recorded hash is the served bytes'`);
    else assert.equal(r.broken, 'HTTP 404');
    const record = JSON.parse(await readFile(r.record, 'utf8')) as { url: string; sha256?: string };
    assert.equal(record.url, r.url);
    assert.equal(record.sha256, r.sha256);
  }
  // Nine steps and one summary, each a job that ran once.
  assert.equal(run.jobs.length, 10);
  for (const id of run.jobs) {
    const info = await app.get(id);
    assert.equal(info?.state, 'succeeded', id);
    assert.equal(info?.attempts, 1, id);
  }
  assert.deepEqual(
    (await app.get('archive-run.1.1'))?.args,
    [{ url: `${base}/missing`, status: 404, broken: 'HTTP 404' }],
    "checksum got fetch's result first",
  );
});
