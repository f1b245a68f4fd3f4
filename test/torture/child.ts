// The process the torture driver kills: it embeds celeriac on <work>/data and sends
// torture.note jobs until it is SIGKILLed (or told to close, or to finish everything).
//
//   node --import tsx test/torture/child.ts <work> '<json options>'
//
// Options (set by driver.ts): epoch, seed, compactAfterBytes, reloadEveryMs (0: no hot
// reload), inPlace (rewrite the module in place, truncate then write, as many editors save;
// default: write a temp file and rename it over), closeAtMs (close() this long after
// `ready`), final (send nothing: run every job on record to the end, close, print
// `final <counts>`).
//
// stdout, one fact per line (process.stdout.write is synchronous on a pipe, so a line is in
// the driver's pipe before the next statement runs; a SIGKILL can only cut the last one):
//   open <pid> <recovery json>   the data dir is open
//   ready                        start() resolved (or createCeleriac with start: true): jobs run, sends begin
//   try <id>                     about to send this id (the driver resends it next time if unacknowledged)
//   ack <id>                     the send()/sendMany() that made <id> durable has resolved
//   touch <generation>           the task module was rewritten (hot reload follows)
//   closing / closed             close() called / resolved (then the process exits 0)
//   log <message>                celeriac's logger (info and warnings)
//   error <message>              celeriac's logger.error, or a send that failed unexpectedly
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { createCeleriac, type JobHandle } from '../../src/index.js';

interface ChildOptions {
  epoch: number;
  seed: number;
  compactAfterBytes: number;
  reloadEveryMs: number;
  inPlace?: boolean;
  closeAtMs?: number;
  final?: boolean;
}

const [work, json] = process.argv.slice(2);
if (!work || !json) throw new Error('usage: child.ts <work dir> <json options>');
const opts = JSON.parse(json) as ChildOptions;

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const INDEX = pathToFileURL(join(ROOT, 'src', 'index.ts')).href;
const TEMPLATE = readFileSync(new URL('./tasks/note.ts', import.meta.url), 'utf8');
const dataDir = join(work, 'data');
const taskDir = join(work, 'tasks');
const side = join(work, 'side');
const taskFile = join(taskDir, 'note.ts');

const oneLine = (s: string) => s.replace(/\s*\n\s*/g, ' | ');
const say = (line: string) => process.stdout.write(`${line}\n`);

// mulberry32: the driver hands each child its own seed.
let s = opts.seed >>> 0;
const random = () => {
  s = (s + 0x6d2b79f5) >>> 0;
  let t = s;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const between = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));

/** The template with an absolute import of celeriac (the copy lives outside the repo) and a generation number. */
function render(generation: number): string {
  const out = TEMPLATE.replace(`'../../../src/index.js'`, `'${INDEX}'`).replace(
    'const GENERATION = 0;',
    `const GENERATION = ${generation};`,
  );
  if (!out.includes(INDEX) || !out.includes(`const GENERATION = ${generation};`))
    throw new Error('test/torture/tasks/note.ts changed: render() no longer finds its import or GENERATION line');
  return out;
}

mkdirSync(taskDir, { recursive: true });
mkdirSync(side, { recursive: true });
// "type": "module" so that tsx loads the copied .ts module as ESM.
writeFileSync(join(work, 'package.json'), '{ "type": "module" }\n');
let generation = opts.epoch * 1000;
writeFileSync(taskFile, render(generation));

const logger = {
  info: (m: string) => say(`log ${oneLine(m)}`),
  warn: (m: string) => say(`log ${oneLine(m)}`),
  error: (m: string) => say(`error ${oneLine(m)}`),
};

// Every other process opens as `celeriac worker` does (start: true): jobs then run while
// the data dir is still being read, so kills land in that window too.
const startEarly = opts.epoch % 2 === 1;
const app = await createCeleriac({
  dir: dataDir,
  tasks: [taskDir],
  logger,
  concurrency: 2,
  workerConcurrency: 4,
  prefetch: 2,
  compactAfterBytes: opts.compactAfterBytes,
  watch: !opts.final,
  start: startEarly,
});
say(`open ${process.pid} ${JSON.stringify(app.recovery)}`);
if (!startEarly) await app.start();
say('ready');

if (opts.final) {
  // Everything on record runs to its end; nothing new is sent.
  const until = Date.now() + 300_000;
  for (;;) {
    await app.idle();
    const c = await app.counts();
    if (c.pending + c.started + c.retrying === 0 || Date.now() > until) break;
    await sleep(50);
  }
  await app.close();
  say(`final ${JSON.stringify(await app.counts())}`);
  process.exit(0);
}

let stopping = false;
let n = 0;
/** Acknowledged in this process and not finished yet: the senders wait while there are many. */
const outstanding = new Set<string>();
const MAX_OUTSTANDING = 120;
const args = (): [string, number] => [side, between(1, 25)];

function track(h: JobHandle<unknown>): void {
  outstanding.add(h.id);
  h.result().then(
    () => outstanding.delete(h.id),
    () => outstanding.delete(h.id), // APP_CLOSED at close(): the job is on record and runs next time
  );
}

function failed(what: string, err: unknown): void {
  // After close() began, sends are refused (APP_CLOSED): expected, and never acknowledged.
  if (stopping && (err as { code?: string }).code === 'APP_CLOSED') return;
  say(`error ${what}: ${oneLine(String((err as Error).stack ?? err))}`);
}

async function single(id: string): Promise<void> {
  say(`try ${id}`);
  try {
    const h = await app.send('torture.note', args(), { id });
    say(`ack ${h.id}`);
    track(h);
  } catch (err) {
    failed(`send ${id}`, err);
  }
}

async function bulk(): Promise<void> {
  const count = between(2, 24);
  try {
    const hs = await app.sendMany('torture.note', Array.from({ length: count }, args));
    say(hs.map((h) => `ack ${h.id}`).join('\n'));
    for (const h of hs) track(h);
  } catch (err) {
    failed(`sendMany of ${count}`, err);
  }
}

async function burst(): Promise<void> {
  const count = between(2, 32);
  await Promise.all(Array.from({ length: count }, () => single(`b-${opts.epoch}-${n++}`)));
}

async function sender(): Promise<void> {
  while (!stopping) {
    while (outstanding.size > MAX_OUTSTANDING && !stopping) await sleep(2);
    if (stopping) return;
    const r = random();
    if (r < 0.4) await single(`s-${opts.epoch}-${n++}`);
    else if (r < 0.7) await bulk();
    else await burst();
    await sleep(between(0, 8));
  }
}

// Ids an earlier process tried to send and was killed before acknowledging: a client
// would send them again with the same id. The first send may or may not have landed.
const retryFile = join(work, 'retry.json');
const retry = existsSync(retryFile) ? (JSON.parse(readFileSync(retryFile, 'utf8')) as string[]) : [];

if (opts.reloadEveryMs > 0) {
  const touch = () => {
    if (stopping) return;
    // In place, a reload can import the module in the instant it is empty: the new
    // generation then lacks torture.note, and its queued jobs fail ("not registered in this
    // worker"), a hot-reload race this loop found; it is not what the loop is about, so by
    // default the new content is renamed over the old (driver --in-place-saves: in place).
    if (opts.inPlace) writeFileSync(taskFile, render(++generation));
    else {
      writeFileSync(`${taskFile}.tmp`, render(++generation));
      renameSync(`${taskFile}.tmp`, taskFile);
    }
    say(`touch ${generation}`);
    setTimeout(touch, between(Math.round(opts.reloadEveryMs / 2), opts.reloadEveryMs * 2));
  };
  setTimeout(touch, between(0, opts.reloadEveryMs));
}

if (opts.closeAtMs !== undefined) {
  setTimeout(() => {
    stopping = true;
    say('closing');
    app.close().then(
      () => {
        say('closed');
        process.exit(0);
      },
      (err: unknown) => {
        say(`error close: ${oneLine(String((err as Error).stack ?? err))}`);
        process.exit(1);
      },
    );
  }, opts.closeAtMs);
}

for (const id of retry) await single(id);
await Promise.all([sender(), sender(), sender()]);
