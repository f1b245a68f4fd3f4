// An app that embeds celeriac with the archiver plugin. Run it from the app's directory,
// where celeriac and celeriac-example-archiver are installed in node_modules:
//
//   node --import tsx node_modules/celeriac-example-archiver/host.ts
//
// It serves three demo resources on 127.0.0.1 (a CSV file, a missing page, and a file
// whose server fails once with 503), archives each, and prints what was recorded.
// The data dir is $CELERIAC_DIR (default .celeriac), the records go to $ARCHIVE_DIR
// (default ./archive).
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { createCeleriac } from 'celeriac';
import type { Archival } from 'celeriac-example-archiver';

// --- demo resources -------------------------------------------------------------------

const csv = 'station,year,rainfall_mm\nAberdeen,2024,812\nBergen,2024,2250\n';
let flakyCalls = 0;
const server = createServer((req, res) => {
  if (req.url === '/rainfall.csv') {
    res.writeHead(200, { 'content-type': 'text/csv; charset=utf-8' }).end(csv);
  } else if (req.url === '/flaky.json' && ++flakyCalls === 1) {
    res.writeHead(503).end('busy, try later');
  } else if (req.url === '/flaky.json') {
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}\n');
  } else {
    res.writeHead(404).end('not here');
  }
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

// --- the app ----------------------------------------------------------------------------

const app = await createCeleriac({
  dir: process.env.CELERIAC_DIR ?? '.celeriac',
  plugins: ['celeriac-example-archiver'],
  concurrency: 2,
});
await app.start();

const outDir = resolve(process.env.ARCHIVE_DIR ?? 'archive');
const resources = { rainfall: `${base}/rainfall.csv`, gone: `${base}/old-dataset.xls`, flaky: `${base}/flaky.json` };
const jobs = await Promise.all(
  Object.entries(resources).map(([resourceId, url]) =>
    // A short retry countdown for the demo (the task's default is 60 s).
    app.send<Archival>('archiver.update', [url, { outDir, resourceId }], { id: `archive:${resourceId}`, retryDelay: 0.2 }),
  ),
);
for (const job of jobs) {
  const a = await job.result({ timeout: 30 });
  const info = (await app.get(job.id))!;
  const what = a.broken ? `BROKEN (${a.reason})` : `${a.size} bytes, ${a.contentType}, sha256 ${a.sha256!.slice(0, 16)}…`;
  console.log(`${a.resourceId.padEnd(9)} ${what}  [attempts ${info.attempts}, retries ${info.retries}] → ${a.record}`);
}

await app.close();
server.close();
