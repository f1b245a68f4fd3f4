// The job commands: send, list, show, cancel, clear, test. They work whether or not a
// worker runs: send, list, show and cancel talk to a running worker over its client
// socket (so `list` and `show` see what only it knows, such as reserved jobs); otherwise
// writes go through the data dir's inbox and reads replay it read-only. When no worker
// runs, a write is applied at once by opening the dir briefly (so that `show` right after
// `cancel` tells the truth).
import { access } from 'node:fs/promises';
import { createCeleriac } from '../../app.js';
import { readJobs } from '../../admin.js';
import { createClient, type CeleriacClient } from '../../client.js';
import { CeleriacError, errorLine, errorTrace } from '../../errors.js';
import { submitToInbox } from '../../inbox.js';
import { FINISHED_STATES, JOB_STATES, WAITING_STATES, type JobState } from '../../jobs.js';
import { jobInfo } from '../../job-view.js';
import type { SendOptions, JobInfo } from '../../send-types.js';
import { lockHolder } from '../../store/lock.js';
import { durationMs } from '../../time.js';
import { EXIT, UsageError, type Settings } from '../context.js';
import { ago, table } from '../table.js';

async function client(s: Settings): Promise<CeleriacClient> {
  return createClient({
    dir: s.dir,
    cwd: s.cwd,
    ...(s.config.tasks ? { tasks: s.config.tasks } : {}),
    ...(s.config.plugins ? { plugins: s.config.plugins } : {}),
  });
}

/** Ask the running worker over its socket; undefined when none answers. */
async function fromWorker<T>(s: Settings, ask: (c: CeleriacClient) => Promise<T>): Promise<T | undefined> {
  const c = await createClient({ dir: s.dir });
  try {
    return (await c.connected()) ? await ask(c) : undefined;
  } finally {
    c.close();
  }
}

/** No worker owns the dir: open it briefly so that what was just handed in is applied now. */
async function applyIfNoWorker(s: Settings): Promise<boolean> {
  if ((await lockHolder(s.dir)) !== undefined) return false;
  const { watch: _watch, ...config } = s.config;
  const app = await createCeleriac({ ...config, dir: s.dir, cwd: s.cwd, logger: false });
  await app.close();
  return true;
}

/** Wait until a running worker has taken a message out of its inbox. */
async function waitApplied(file: string, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (
      !(await access(file).then(
        () => true,
        () => false,
      ))
    )
      return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new CeleriacError('RESULT_TIMEOUT', `the worker did not take ${file} within ${ms} ms: is it stuck?`);
}

function parseArgsJson(text: string | undefined): unknown[] {
  if (text === undefined) return [];
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`ARGS_JSON is not valid JSON (${(err as Error).message}): pass a JSON array such as '["Hello World"]'`);
  }
  return Array.isArray(value) ? value : [value];
}

/** A numeric flag, or a usage error naming it (Number("abc") would reach send() as NaN: exit 1, "got NaN"). */
function numberFlag(flag: string, value: string): number {
  const n = value.trim() === '' ? Number.NaN : Number(value);
  if (!Number.isFinite(n)) throw new UsageError(`--${flag} must be a number, got "${value}"`);
  return n;
}

/** A duration flag: seconds ("30") or a string with a unit ("500ms", "5m"); else a usage error naming it. */
function durationFlag(flag: string, value: string): number | string {
  const given = /^\s*\d+(\.\d+)?\s*$/.test(value) ? Number(value) : value;
  try {
    durationMs(given, `--${flag}`);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  return given;
}

function state(value: string | undefined): JobState | undefined {
  if (value === undefined) return undefined;
  if (!(JOB_STATES as readonly string[]).includes(value))
    throw new UsageError(`--state must be one of ${JOB_STATES.join(', ')}; got "${value}"`);
  return value as JobState;
}

export async function sendCommand(
  s: Settings,
  positionals: string[],
  flags: { id?: string; countdown?: string; eta?: string; expires?: string; priority?: string; queue?: string },
  json: boolean,
): Promise<number> {
  const [name, argsJson, extra] = positionals;
  if (!name) throw new UsageError('send needs a task name: celeriac send NAME [ARGS_JSON]');
  if (extra !== undefined) throw new UsageError(`send takes one ARGS_JSON; got an extra argument "${extra}" (quote the JSON array)`);
  const args = parseArgsJson(argsJson);
  const options: SendOptions = {};
  if (flags.id !== undefined) options.id = flags.id;
  if (flags.countdown !== undefined) options.countdown = durationFlag('countdown', flags.countdown);
  if (flags.eta !== undefined) options.eta = flags.eta;
  if (flags.expires !== undefined) options.expires = /^\d+(\.\d+)?$/.test(flags.expires) ? Number(flags.expires) : flags.expires;
  if (flags.priority !== undefined) options.priority = numberFlag('priority', flags.priority);
  if (flags.queue !== undefined) options.queue = flags.queue;
  const c = await client(s);
  for (const p of c.problems) process.stderr.write(`celeriac: warning: ${p.message}\n`);
  const { id } = await c.send(name, args, options);
  c.close();
  const worker = await lockHolder(s.dir);
  if (json) console.log(JSON.stringify({ id, task: name, worker: worker ?? null }));
  else {
    // stdout is the id alone (ID=$(celeriac send ...)); the note is for the person at the terminal.
    console.log(id);
    process.stderr.write(
      `(sent ${name}; ${worker ? `worker pid ${worker} will run it` : 'no worker is running: it runs when one starts'})\n`,
    );
  }
  return EXIT.ok;
}

export async function listCommand(s: Settings, flags: { state?: string; limit?: string }, json: boolean): Promise<number> {
  const want = state(flags.state);
  const limit = flags.limit === undefined ? 50 : Number(flags.limit);
  if (!Number.isInteger(limit) || limit < 1) throw new UsageError(`--limit must be an integer ≥ 1, got "${flags.limit}"`);
  const live = await fromWorker(s, (c) => c.list({ limit, ...(want ? { state: want } : {}) }));
  let shown: JobInfo[];
  let more: string;
  if (live) {
    shown = live.jobs;
    more = live.next ? '(more; use --limit)' : '';
  } else {
    const all = [...(await readJobs(s.dir)).values()].filter((j) => !want || j.state === want);
    all.sort((a, b) => b.createdAt - a.createdAt);
    shown = all.slice(0, limit).map((j) => jobInfo(j));
    more = all.length > shown.length ? `(${all.length - shown.length} more; use --limit)` : '';
  }
  if (json) {
    console.log(JSON.stringify(shown));
    return EXIT.ok;
  }
  if (shown.length === 0) {
    console.log(`no jobs${want ? ` in state ${want}` : ''} in ${s.dir}`);
    return EXIT.ok;
  }
  console.log(
    table(
      ['ID', 'TASK', 'QUEUE', 'STATE', 'ATTEMPTS', 'CREATED', 'RUN AT', 'PROGRESS'],
      shown.map((j) => [
        j.id,
        j.task,
        j.queue,
        j.state,
        String(j.attempts),
        ago(j.createdAt),
        runAtOf(j),
        j.progress === undefined ? '' : progressText(j.progress),
      ]),
    ),
  );
  if (more) console.log(more);
  return EXIT.ok;
}

/** When a waiting job is due; nothing for a job that will not run again (finished, cancelled, expired). */
function runAtOf(j: JobInfo): string {
  return j.runAt && !FINISHED_STATES.has(j.state) ? ago(j.runAt) : '';
}

/** A percentage as "42%", an object as its JSON. */
function progressText(value: unknown): string {
  return typeof value === 'number' ? `${value}%` : JSON.stringify(value);
}

/** A stored time as ISO-8601; a record written by hand or by an old version may hold a time no Date can. */
function iso(date: Date): string {
  return Number.isNaN(date.getTime()) ? 'not a valid time (out of the range of a Date)' : date.toISOString();
}

function describe(j: JobInfo): string {
  const rows: [string, string][] = [
    ['id', j.id],
    ['task', j.task],
    ['queue', j.queue],
    ['state', j.state],
    ['args', JSON.stringify(j.args)],
    ['attempts', String(j.attempts)],
    ['retries', String(j.retries)],
    ['priority', String(j.priority)],
    ['recovered', String(j.recovered)],
    ['created', `${iso(j.createdAt)} (${ago(j.createdAt)})`],
  ];
  const runAt = runAtOf(j);
  if (runAt) rows.push(['run at', `${iso(j.runAt!)} (${runAt})`]);
  if (j.expiresAt) rows.push(['expires', `${iso(j.expiresAt)} (${ago(j.expiresAt)})`]);
  if (j.startedAt) rows.push(['started', iso(j.startedAt)]);
  if (j.finishedAt) rows.push(['finished', iso(j.finishedAt)]);
  if (j.progress !== undefined) rows.push(['progress', progressText(j.progress)]);
  if ('result' in j) rows.push(['result', JSON.stringify(j.result)]);
  if (j.error) rows.push(['error', `${j.error.name}: ${j.error.message}`]);
  for (let c = j.error?.cause; c; c = c.cause) rows.push(['caused by', errorLine(c)]);
  return rows.map(([k, v]) => `${k.padEnd(10)} ${v}`).join('\n') + (j.error?.stack || j.error?.cause ? `\n\n${errorTrace(j.error)}` : '');
}

export async function showCommand(s: Settings, positionals: string[], json: boolean): Promise<number> {
  const id = positionals[0];
  if (!id) throw new UsageError('show needs a job id: celeriac show ID');
  const live = await fromWorker(s, async (c) => ({ info: await c.get(id) }));
  const rec = live ? undefined : (await readJobs(s.dir)).get(id);
  const info = live ? live.info : rec && jobInfo(rec);
  if (!info) {
    process.stderr.write(`celeriac: no job ${id} in ${s.dir} (never sent here, or dropped after its result retention time)\n`);
    return EXIT.notFound;
  }
  console.log(json ? JSON.stringify(info) : describe(info));
  return EXIT.ok;
}

export async function cancelCommand(s: Settings, positionals: string[], json: boolean): Promise<number> {
  const id = positionals[0];
  if (!id) throw new UsageError('cancel needs a job id: celeriac cancel ID');
  const live = await fromWorker(s, async (c) => ({ cancelled: await c.cancel(id), after: await c.get(id) }));
  if (live) return cancelled(s, id, live.cancelled, live.after?.state, json);
  const before = (await readJobs(s.dir)).get(id);
  if (!before) {
    process.stderr.write(`celeriac: no job ${id} in ${s.dir}\n`);
    return EXIT.notFound;
  }
  if (FINISHED_STATES.has(before.state)) {
    process.stderr.write(`celeriac: job ${id} already ${before.state}: nothing to cancel\n`);
    return EXIT.notCancelled;
  }
  const file = await submitToInbox(s.dir, { v: 1, kind: 'cancel', ids: [id] });
  if (!(await applyIfNoWorker(s))) await waitApplied(file);
  const after = (await readJobs(s.dir)).get(id);
  return cancelled(s, id, after?.state === 'cancelled', after?.state, json);
}

function cancelled(s: Settings, id: string, done: boolean, state: JobState | undefined, json: boolean): number {
  if (json) console.log(JSON.stringify({ id, cancelled: done, state: state ?? null }));
  else if (done) console.log(`cancelled ${id}`);
  else if (state === undefined) {
    process.stderr.write(`celeriac: no job ${id} in ${s.dir}\n`);
    return EXIT.notFound;
  } else if (FINISHED_STATES.has(state)) {
    process.stderr.write(`celeriac: job ${id} already ${state}: nothing to cancel\n`);
    return EXIT.notCancelled;
  } else console.log(`job ${id} could not be cancelled: it is ${state}`);
  return done ? EXIT.ok : EXIT.notCancelled;
}

export async function clearCommand(s: Settings, flags: { state?: string[] }, json: boolean): Promise<number> {
  // Like `ckan jobs clear`: without --state, cancel every job still waiting. With --state,
  // waiting states are cancelled and finished states are dropped from the record.
  const states = (flags.state?.length ? flags.state : ['pending', 'retrying']).map((v) => state(v)!);
  const jobs = [...(await readJobs(s.dir)).values()];
  const toCancel = jobs.filter((j) => WAITING_STATES.has(j.state) && states.includes(j.state)).map((j) => j.id);
  const finished = states.filter((st) => FINISHED_STATES.has(st));
  const files: string[] = [];
  if (toCancel.length) files.push(await submitToInbox(s.dir, { v: 1, kind: 'cancel', ids: toCancel }));
  if (finished.length) files.push(await submitToInbox(s.dir, { v: 1, kind: 'purge', states: finished }));
  if (files.length && !(await applyIfNoWorker(s))) for (const f of files) await waitApplied(f);
  const dropped = jobs.filter((j) => finished.includes(j.state)).length;
  if (json) console.log(JSON.stringify({ cancelled: toCancel.length, dropped }));
  else console.log(`cancelled ${toCancel.length} waiting job(s); dropped ${dropped} finished job(s)`);
  return EXIT.ok;
}

export async function testCommand(s: Settings, flags: { timeout?: string }, json: boolean): Promise<number> {
  const timeout = flags.timeout === undefined ? 30 : durationFlag('timeout', flags.timeout);
  const worker = await lockHolder(s.dir);
  const c = await createClient({ dir: s.dir });
  const { id } = await c.send('celeriac.test', ['celeriac test job']);
  if (!json)
    console.log(
      `sent test job ${id} to ${s.dir}${worker ? ` (worker pid ${worker})` : ' — no worker is running: start one with `celeriac worker`'}`,
    );
  try {
    const result = await c.result(id, { timeout });
    console.log(json ? JSON.stringify({ id, ok: true, result }) : `test job ${id} succeeded: ${JSON.stringify(result)}`);
    return EXIT.ok;
  } catch (err) {
    console.log(
      json ? JSON.stringify({ id, ok: false, error: (err as Error).message }) : `test job ${id} did not succeed: ${(err as Error).message}`,
    );
    return EXIT.testFailed;
  }
}
