#!/usr/bin/env node
// The `celeriac` command. This first cut runs a worker over task paths and lists
// tasks; the daemon features (config files, send, list/show/cancel, doctor, watch)
// grow here.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createCeleriac, type Celeriac } from '../app.js';
import { CeleriacError } from '../errors.js';

const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

const HELP = `celeriac ${VERSION} — Celery-style background tasks for Node.js

Usage:
  celeriac worker --dir DIR --tasks PATH [--tasks PATH ...] [--concurrency N] [--burst]
  celeriac tasks  --dir DIR --tasks PATH [--tasks PATH ...]
  celeriac --version | --help

Options:
  --dir DIR          data dir (journal, snapshot, lock); default .celeriac
  --tasks PATH       task module file or directory (repeatable)
  --concurrency N    worker threads (default: number of cores)
  --burst            run the jobs that are due, then exit 0

Exit codes: 0 ok, 1 runtime error, 2 usage error.`;

function usage(message: string): never {
  process.stderr.write(`celeriac: ${message}\n\n${HELP}\n`);
  process.exit(2);
}

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        dir: { type: 'string', default: '.celeriac' },
        tasks: { type: 'string', multiple: true },
        concurrency: { type: 'string' },
        burst: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
        version: { type: 'boolean', short: 'v', default: false },
      },
    });
  } catch (err) {
    usage((err as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.version) {
    console.log(VERSION);
    return 0;
  }
  const command = positionals[0];
  if (values.help || !command) {
    console.log(HELP);
    return values.help ? 0 : 2;
  }
  if (command !== 'worker' && command !== 'tasks') usage(`unknown command "${command}"`);
  if (!values.tasks?.length) usage('--tasks PATH is required (a task module file or directory)');
  let concurrency: number | undefined;
  if (values.concurrency !== undefined) {
    concurrency = Number(values.concurrency);
    if (!Number.isInteger(concurrency) || concurrency < 1) usage(`--concurrency must be an integer ≥ 1, got "${values.concurrency}"`);
  }
  const app = await createCeleriac({ dir: values.dir!, tasks: values.tasks, ...(concurrency ? { concurrency } : {}) });
  if (command === 'tasks') {
    for (const t of app.tasks) console.log(`${t.name}\t${t.file}:${t.line}`);
    await app.close();
    return 0;
  }
  printBanner(app, concurrency);
  await app.start();
  if (values.burst) {
    await app.idle();
    await app.close();
    return 0;
  }
  await new Promise<void>((resolve) => {
    const stop = () => void app.close().then(resolve);
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  return 0;
}

function printBanner(app: Celeriac, concurrency: number | undefined): void {
  const lines = [
    `celeriac ${VERSION} worker`,
    `  data dir:  ${app.dir}`,
    `  pool:      ${concurrency ?? 'one per core'} worker thread(s)`,
    `  tasks:`,
    ...app.tasks.map((t) => `    . ${t.name}  (${t.file}:${t.line})`),
  ];
  console.log(lines.join('\n'));
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    const message = err instanceof CeleriacError ? err.message : ((err as Error)?.stack ?? String(err));
    process.stderr.write(`celeriac: ${message}\n`);
    process.exit(1);
  },
);
