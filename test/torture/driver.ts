// The kill loop: start a real process that embeds celeriac (child.ts) and sends jobs
// (single, bulk and concurrent), SIGKILL it at a random moment — while it sends and
// commits, while it compacts, while it hot-reloads, while it shuts down, while it
// recovers — start it again, and repeat. Then let one last process run everything to
// the end, and check the data dir against this driver's own record of what the children
// acknowledged:
//
//   - no acknowledged job is missing (checked after every kill, and at the end);
//   - every job finished (succeeded);
//   - a job ran more than once only if it was running at a kill (durably started, not
//     finished), and each rerun saw recovered = true and a higher attempt;
//   - a job durably finished at a kill never runs again;
//   - the states agree with the side files the task writes (a succeeded job ran to its end
//     in the attempt the record names).
//
//   npm run torture -- [--kills N] [--seed S] [--keep] [--in-place-saves]
//
// --in-place-saves: the child rewrites its task module in place (truncate, then write) to
// trigger hot reloads, instead of renaming a new file over it; see child.ts.
//
// Prints `kills: K, acknowledged: A, lost: L, duplicates: D (in flight at kill: F)` and a
// timing line; exits 1 on any violation, listing them (and keeping the work dir).
import { spawn } from 'node:child_process';
import { watch, type FSWatcher } from 'node:fs';
import { appendFile, mkdir, mkdtemp, open, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readJobs } from '../../src/admin.js';
import type { JobRecord } from '../../src/jobs.js';

// --- options -------------------------------------------------------------------------

function parseArgs(argv: string[]): { kills: number; seed: number; keep: boolean; inPlace: boolean } {
  let kills = 200;
  let seed = Date.now() % 2 ** 31;
  let keep = false;
  let inPlace = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined || !/^\d+$/.test(v)) usage(`${a} needs a non-negative integer`);
      return Number(v);
    };
    if (a === '--kills') kills = value();
    else if (a.startsWith('--kills=')) kills = Number(a.slice(8));
    else if (a === '--seed') seed = value();
    else if (a.startsWith('--seed=')) seed = Number(a.slice(7));
    else if (a === '--keep') keep = true;
    else if (a === '--in-place-saves') inPlace = true;
    else usage(`unknown argument ${a}`);
  }
  if (!Number.isInteger(kills) || kills < 1) usage('--kills must be ≥ 1');
  return { kills, seed, keep, inPlace };
}

function usage(why: string): never {
  console.error(`torture: ${why}\nusage: node --import tsx test/torture/driver.ts [--kills N] [--seed S] [--keep] [--in-place-saves]`);
  process.exit(2);
}

const { kills: KILLS, seed: SEED, keep: KEEP, inPlace: IN_PLACE } = parseArgs(process.argv.slice(2));
const CHILD = fileURLToPath(new URL('./child.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const READY_TIMEOUT_MS = 120_000;
const FINAL_TIMEOUT_MS = 600_000;

let rs = SEED >>> 0;
const random = () => {
  rs = (rs + 0x6d2b79f5) >>> 0;
  let t = rs;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const between = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));

// --- what the driver knows ---------------------------------------------------------

/** Where a kill was aimed. */
type Mode = 'startup' | 'running' | 'compaction' | 'reload' | 'shutdown';
const MODES: [Mode, number][] = [
  ['startup', 0.1],
  ['running', 0.4],
  ['compaction', 0.15],
  ['reload', 0.15],
  ['shutdown', 0.2],
];

interface Run {
  id: string;
  attempt: number;
  recovered: boolean;
  epoch: number;
}

interface EpochLog {
  epoch: number;
  mode: Mode;
  /** How it ended: killed by the driver, closed by itself (exit 0), or something else. */
  end: 'killed' | 'closed' | 'crashed';
  killedAt?: string;
  /** Spawn → the data dir open (createCeleriac resolved) → ready (start() resolved) → the end. */
  openMs?: number;
  startupMs?: number;
  liveMs?: number;
  acks: number;
  runs: number;
  touches: number;
  reloads: number;
  torn?: boolean;
  interrupted?: number;
}

const violations: string[] = [];
/** Jobs whose bad state was reported already: once per job, not after every process. */
const badState = new Set<string>();
const violate = (msg: string) => {
  violations.push(msg);
  if (violations.length <= 20) console.error(`VIOLATION: ${msg}`);
};

const acked = new Set<string>();
/** Ids a child announced (`try`) and did not acknowledge: the next child sends them again. */
const unacked = new Set<string>();
const runsOf = new Map<string, Run[]>();
const doneOf = new Map<string, Set<number>>(); // id → attempts that ran to their end
/** id → the epoch at whose end the job was durably finished. */
const finishedAtEnd = new Map<string, number>();
/** id → { epoch, attempts } at the last kill at which the job was durably started and unfinished. */
const awaitingRerun = new Map<string, { epoch: number; attempts: number }>();
/** Jobs running (durably started, not finished) at some kill. */
const inFlightAtKill = new Set<string>();
/** epoch → for each job started at that epoch's kill: its attempts. */
const startedAtKill = new Map<number, Map<string, number>>();
const epochEnd = new Map<number, EpochLog['end']>();
const stats = {
  maxStartedAtKill: 0,
  kills: 0,
  cleanCloses: 0,
  torn: 0,
  interrupted: 0,
  reloads: 0,
  touches: 0,
  compactionsSeen: 0,
  errors: 0,
  byMode: {} as Record<string, number>,
};
const sideOffsets = { runs: 0, done: 0 };
const sidePartial = { runs: '', done: '' };

// --- one process -----------------------------------------------------------------

interface ChildResult {
  end: EpochLog['end'];
  code: number | null;
  signal: NodeJS.Signals | null;
  lines: string[];
  stderr: string;
  openMs?: number;
  startupMs?: number;
  liveMs?: number;
  killedAt?: string;
}

async function runChild(
  work: string,
  epoch: number,
  mode: Mode | 'final',
  childOpts: Record<string, unknown>,
  startupGuessMs: number,
): Promise<ChildResult> {
  const started = Date.now();
  const proc = spawn(process.execPath, ['--import', 'tsx', CHILD, work, JSON.stringify({ epoch, ...childOpts })], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let partial = '';
  let stderr = '';
  let readyAt: number | undefined;
  let openAt: number | undefined;
  let killedAt: string | undefined;
  let exited = false;
  const timers: NodeJS.Timeout[] = [];
  let watcher: FSWatcher | undefined;

  const kill = (why: string) => {
    if (exited || killedAt !== undefined || proc.exitCode !== null || proc.signalCode !== null) return;
    killedAt = why;
    proc.kill('SIGKILL');
  };
  const after = (ms: number, why: string) => timers.push(setTimeout(() => kill(why), ms));

  // reload: kill a while after the k-th rewrite of the module, or just after a reload took over.
  const reloadTarget = { touches: between(1, 3), afterReloaded: random() < 0.35 };
  let touchesSeen = 0;
  if (mode === 'startup') after(between(5, Math.max(20, startupGuessMs)), 'startup');
  timers.push(
    setTimeout(() => {
      if (readyAt === undefined && !exited) {
        violate(`epoch ${epoch}: the child did not become ready within ${READY_TIMEOUT_MS / 1000} s; stderr:\n${stderr.slice(-2000)}`);
        kill('ready timeout');
      }
    }, READY_TIMEOUT_MS),
  );
  if (mode === 'final') {
    timers.push(
      setTimeout(() => {
        violate(`final run: did not finish within ${FINAL_TIMEOUT_MS / 1000} s`);
        kill('final timeout');
      }, FINAL_TIMEOUT_MS),
    );
  }

  const onLine = (line: string) => {
    lines.push(line);
    if (line.startsWith('open ')) openAt = Date.now();
    if (line === 'ready') {
      readyAt = Date.now();
      if (mode === 'running') after(between(50, 600), 'sending');
      else if (mode === 'reload') after(3000, 'sending (no reload in time)');
      else if (mode === 'compaction') {
        // Kill right as a compaction writes its snapshot (or creates the next segment).
        const dataDir = join(work, 'data');
        watcher = watch(dataDir, (_event, name) => {
          if (name === 'snapshot.db.tmp' || (name && /^journal-\d+\.log$/.test(name))) {
            stats.compactionsSeen++;
            watcher?.close();
            const ms = between(0, 25);
            if (ms === 0) kill('compaction');
            else after(ms, 'compaction');
          }
        });
        after(between(300, 700), 'sending (no compaction in time)');
      }
    } else if (line === 'closing' && mode === 'shutdown') {
      after(between(0, 250), 'close()');
    } else if (line.startsWith('touch ') && mode === 'reload' && !reloadTarget.afterReloaded) {
      if (++touchesSeen === reloadTarget.touches) after(between(0, 400), 'hot reload (module rewritten)');
    } else if (line.startsWith('log ') && line.includes('reloaded the task modules') && mode === 'reload' && reloadTarget.afterReloaded) {
      after(between(0, 30), 'hot reload (new generation took over)');
    }
  };

  proc.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    partial += chunk;
    const parts = partial.split('\n');
    partial = parts.pop()!; // a line cut by the kill is not an acknowledgement
    for (const l of parts) onLine(l);
  });
  proc.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
    if (stderr.length > 100_000) stderr = stderr.slice(-50_000);
  });
  const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    // 'close', not 'exit': by then every line the child wrote has been read.
    proc.on('close', (c, s) => resolve({ code: c, signal: s }));
  });
  exited = true;
  for (const t of timers) clearTimeout(t);
  watcher?.close();
  const end: EpochLog['end'] =
    killedAt !== undefined && signal === 'SIGKILL'
      ? 'killed'
      : code === 0 && lines.includes('closed')
        ? 'closed'
        : code === 0 && mode === 'final'
          ? 'closed'
          : 'crashed';
  return {
    end,
    code,
    signal,
    lines,
    stderr,
    ...(openAt !== undefined ? { openMs: openAt - started } : {}),
    ...(readyAt !== undefined ? { startupMs: readyAt - started, liveMs: Date.now() - readyAt } : {}),
    ...(killedAt !== undefined ? { killedAt } : {}),
  };
}

// --- side files ------------------------------------------------------------------

/** Read what the tasks appended since last time; the writers are dead, so only whole lines are expected. */
async function readSide(work: string, epoch: number): Promise<Run[]> {
  const fresh: Run[] = [];
  for (const file of ['runs', 'done'] as const) {
    const path = join(work, 'side', file);
    let text: string;
    try {
      const fh = await open(path, 'r');
      try {
        const { size } = await fh.stat();
        const buf = Buffer.alloc(size - sideOffsets[file]);
        await fh.read(buf, 0, buf.length, sideOffsets[file]);
        sideOffsets[file] = size;
        text = sidePartial[file] + buf.toString('utf8');
      } finally {
        await fh.close();
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw err;
    }
    const parts = text.split('\n');
    sidePartial[file] = parts.pop()!;
    if (sidePartial[file] !== '')
      violate(
        `epoch ${epoch}: side file ${file} ends in a partial line ${JSON.stringify(sidePartial[file])} (appendFileSync torn by a kill?)`,
      );
    for (const line of parts) {
      const f = line.split(' ');
      if (file === 'runs') {
        if (f.length !== 3 || !/^\d+$/.test(f[1]!) || (f[2] !== 'true' && f[2] !== 'false')) {
          violate(`epoch ${epoch}: malformed line in runs: ${JSON.stringify(line)}`);
          continue;
        }
        const run: Run = { id: f[0]!, attempt: Number(f[1]), recovered: f[2] === 'true', epoch };
        const list = runsOf.get(run.id) ?? [];
        list.push(run);
        runsOf.set(run.id, list);
        fresh.push(run);
      } else {
        if (f.length !== 2 || !/^\d+$/.test(f[1]!)) {
          violate(`epoch ${epoch}: malformed line in done: ${JSON.stringify(line)}`);
          continue;
        }
        const set = doneOf.get(f[0]!) ?? new Set<number>();
        set.add(Number(f[1]));
        doneOf.set(f[0]!, set);
      }
    }
  }
  return fresh;
}

// --- checks after each process -------------------------------------------------------

function checkRuns(epoch: number, fresh: Run[]): void {
  for (const run of fresh) {
    const fin = finishedAtEnd.get(run.id);
    if (fin !== undefined)
      violate(`${run.id} was durably finished when epoch ${fin} ended, yet ran again in epoch ${epoch} (attempt ${run.attempt})`);
    const list = runsOf.get(run.id)!;
    const i = list.indexOf(run);
    const prev = i > 0 ? list[i - 1] : undefined;
    if (prev) {
      if (run.attempt <= prev.attempt)
        violate(
          `${run.id}: run with attempt ${run.attempt} (epoch ${epoch}) after a run with attempt ${prev.attempt} (epoch ${prev.epoch}): attempts must grow`,
        );
      if (prev.epoch === epoch)
        violate(`${run.id} ran twice in one process (epoch ${epoch}, attempts ${prev.attempt} and ${run.attempt}) with no kill in between`);
      else if (epochEnd.get(prev.epoch) !== 'killed')
        violate(
          `${run.id} ran in epoch ${prev.epoch} and again in epoch ${epoch}, but epoch ${prev.epoch} ended without a kill (${epochEnd.get(prev.epoch)})`,
        );
      else if (!startedAtKill.get(prev.epoch)?.has(run.id))
        violate(
          `${run.id} ran in epoch ${prev.epoch} and again in epoch ${epoch}, but it was not in flight (durably started, unfinished) at the kill that ended epoch ${prev.epoch}`,
        );
    }
    const waiting = awaitingRerun.get(run.id);
    if (waiting && waiting.epoch < epoch) {
      if (!run.recovered)
        violate(`${run.id} was running at the kill ending epoch ${waiting.epoch}; its next run (epoch ${epoch}) saw recovered = false`);
      if (run.attempt <= waiting.attempts)
        violate(
          `${run.id} had ${waiting.attempts} attempt(s) at the kill ending epoch ${waiting.epoch}; its next run (epoch ${epoch}) saw attempt ${run.attempt}`,
        );
      awaitingRerun.delete(run.id);
    }
  }
}

/** Compare the data dir, read right after a process ended, with what the driver knows. */
function checkState(epoch: number, end: EpochLog['end'], jobs: Map<string, JobRecord>, fresh: Run[]): void {
  let missing = 0;
  for (const id of acked) {
    if (!jobs.has(id)) {
      if (++missing <= 5) violate(`acknowledged job ${id} is missing from the data dir after epoch ${epoch} (${end})`);
    }
  }
  if (missing > 5) violate(`… ${missing} acknowledged jobs missing after epoch ${epoch} in all`);

  const started = new Map<string, number>();
  for (const job of jobs.values()) {
    if (job.state === 'started') started.set(job.id, job.attempts);
    else if (job.state === 'succeeded') {
      if (!finishedAtEnd.has(job.id)) finishedAtEnd.set(job.id, epoch);
      if (!doneOf.get(job.id)?.has(job.attempts))
        violate(
          `${job.id} is succeeded after epoch ${epoch} with ${job.attempts} attempt(s), but no run with that attempt ran to its end (side file done)`,
        );
    } else if (job.state !== 'pending' && !badState.has(`${job.id} ${job.state}`)) {
      badState.add(`${job.id} ${job.state}`);
      const why = job.error ? ` (${job.error.name}: ${job.error.message})` : '';
      violate(`${job.id} is ${job.state} after epoch ${epoch}${why}: torture.note never fails, retries or is cancelled`);
    }
  }
  if (end === 'killed') {
    startedAtKill.set(epoch, started);
    stats.maxStartedAtKill = Math.max(stats.maxStartedAtKill, started.size);
    for (const [id, attempts] of started) {
      inFlightAtKill.add(id);
      awaitingRerun.set(id, { epoch, attempts });
    }
  } else if (started.size > 0) {
    violate(
      `after epoch ${epoch} ended by ${end}, ${started.size} job(s) are still started on disk (e.g. ${[...started.keys()].slice(0, 3).join(', ')}): close() must finish or give back every job`,
    );
  }
  // A run that began in this process: the job was durably started first; by now it has
  // finished, or (killed) it is still started. Anything else means the journal lost track.
  const lastRun = new Map<string, Run>();
  for (const r of fresh) lastRun.set(r.id, r);
  for (const r of lastRun.values()) {
    const job = jobs.get(r.id);
    if (!job) violate(`${r.id} ran (attempt ${r.attempt}) in epoch ${epoch}, but the data dir does not know it`);
    else if (job.attempts < r.attempt)
      violate(`${r.id} ran with attempt ${r.attempt} in epoch ${epoch}, but the data dir counts ${job.attempts} attempt(s)`);
    else if (job.state !== 'succeeded' && job.state !== 'started')
      violate(`${r.id} ran (attempt ${r.attempt}) in epoch ${epoch}; afterwards the data dir has it ${job.state}`);
  }
}

// --- the loop --------------------------------------------------------------------

function pickMode(): Mode {
  let r = random();
  for (const [m, p] of MODES) {
    if ((r -= p) < 0) return m;
  }
  return 'running';
}

/** Files under `dir` modified after `since` (epoch ms): others may edit src/ while a long run goes on. */
async function changedSince(dir: string, since: number): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath ?? entry.path, entry.name);
    if ((await stat(path)).mtimeMs > since) out.push(relative(ROOT, path));
  }
  return out.sort();
}

async function main(): Promise<void> {
  const began = Date.now();
  const work = await mkdtemp(join(tmpdir(), 'celeriac-torture-'));
  await mkdir(join(work, 'side'), { recursive: true });
  const epochLog = join(work, 'epochs.jsonl');
  console.log(`torture: ${KILLS} kills, seed ${SEED}, work dir ${work}`);

  let startupGuessMs = 1500;
  let consecutiveCrashes = 0;
  let readMs = 0;
  let epoch = 0;
  while (stats.kills < KILLS) {
    epoch++;
    const mode = pickMode();
    const childOpts = {
      seed: between(1, 2 ** 31),
      compactAfterBytes: between(32, 64) * 1024,
      reloadEveryMs: mode === 'reload' ? between(40, 150) : random() < 0.25 ? between(60, 250) : 0,
      inPlace: IN_PLACE,
      ...(mode === 'shutdown' ? { closeAtMs: between(30, 400) } : {}),
    };
    await writeFile(join(work, 'retry.json'), JSON.stringify([...unacked].slice(-200)));
    const r = await runChild(work, epoch, mode, childOpts, startupGuessMs);
    epochEnd.set(epoch, r.end);
    if (r.startupMs !== undefined) startupGuessMs = Math.round(0.7 * startupGuessMs + 0.3 * r.startupMs);

    let acks = 0;
    let touches = 0;
    let reloads = 0;
    let torn = false;
    let interrupted = 0;
    for (const line of r.lines) {
      if (line.startsWith('ack ')) {
        const id = line.slice(4);
        acked.add(id);
        unacked.delete(id);
        acks++;
      } else if (line.startsWith('try ')) {
        const id = line.slice(4);
        if (!acked.has(id)) unacked.add(id);
      } else if (line.startsWith('touch ')) touches++;
      else if (line.startsWith('log ') && line.includes('reloaded the task modules')) reloads++;
      else if (line.startsWith('open ')) {
        const report = JSON.parse(line.split(' ').slice(2).join(' ')) as { truncated?: unknown; interrupted: number };
        torn = report.truncated !== undefined;
        interrupted = report.interrupted;
      } else if (line.startsWith('error ')) {
        stats.errors++;
        violate(`epoch ${epoch}: the child reported: ${line.slice(6, 600)}`);
      }
    }
    if (torn) stats.torn++;
    stats.interrupted += interrupted;
    stats.touches += touches;
    stats.reloads += reloads;

    if (r.end === 'killed') {
      stats.kills++;
      stats.byMode[r.killedAt!] = (stats.byMode[r.killedAt!] ?? 0) + 1;
      consecutiveCrashes = 0;
    } else if (r.end === 'closed') {
      stats.cleanCloses++;
      consecutiveCrashes = 0;
    } else {
      violate(
        `epoch ${epoch} (${mode}): the child exited by itself with code ${r.code} signal ${r.signal}; stderr:\n${r.stderr.slice(-3000)}\nlast lines: ${r.lines.slice(-5).join(' / ')}`,
      );
      if (++consecutiveCrashes >= 3) break;
    }

    const fresh = await readSide(work, epoch);
    checkRuns(epoch, fresh);
    const t0 = Date.now();
    let jobs: Map<string, JobRecord>;
    try {
      jobs = await readJobs(join(work, 'data'));
    } catch (err) {
      violate(`after epoch ${epoch} (${r.end} ${r.killedAt ?? ''}) the data dir cannot be read: ${(err as Error).message}`);
      break;
    }
    readMs += Date.now() - t0;
    checkState(epoch, r.end, jobs, fresh);

    const log: EpochLog = {
      epoch,
      mode,
      end: r.end,
      ...(r.killedAt ? { killedAt: r.killedAt } : {}),
      ...(r.openMs !== undefined ? { openMs: r.openMs } : {}),
      ...(r.startupMs !== undefined ? { startupMs: r.startupMs, liveMs: r.liveMs! } : {}),
      acks,
      runs: fresh.length,
      touches,
      reloads,
      torn,
      interrupted,
    };
    await appendFile(epochLog, `${JSON.stringify(log)}\n`);
    if (epoch % 10 === 0 || stats.kills === KILLS) {
      console.log(
        `  epoch ${epoch}: kills ${stats.kills}/${KILLS}, acknowledged ${acked.size}, jobs on disk ${jobs.size}, ${Math.round((Date.now() - began) / 1000)} s`,
      );
    }
    if (violations.length > 200) break;
  }
  const loopMs = Date.now() - began;

  // The last process: no kill; everything on record runs to its end.
  epoch++;
  const finalStarted = Date.now();
  const fin = await runChild(
    work,
    epoch,
    'final',
    { seed: 1, compactAfterBytes: 48 * 1024, reloadEveryMs: 0, final: true },
    startupGuessMs,
  );
  epochEnd.set(epoch, fin.end);
  const finalLine = fin.lines.find((l) => l.startsWith('final '));
  if (fin.end !== 'closed' || !finalLine)
    violate(`final run: exit code ${fin.code} signal ${fin.signal}; stderr:\n${fin.stderr.slice(-3000)}`);
  for (const line of fin.lines) if (line.startsWith('error ')) violate(`final run: the child reported: ${line.slice(6, 600)}`);
  const fresh = await readSide(work, epoch);
  checkRuns(epoch, fresh);
  const jobs = await readJobs(join(work, 'data'));
  checkState(epoch, fin.end, jobs, fresh);
  const finalMs = Date.now() - finalStarted;

  // --- the verdict ---
  let lost = 0;
  for (const id of acked) {
    const job = jobs.get(id);
    if (!job) lost++;
    else if (job.state !== 'succeeded') violate(`acknowledged job ${id} is ${job.state} at the end, not succeeded`);
  }
  if (lost > 0) violate(`${lost} acknowledged job(s) missing at the end`);
  let unfinished = 0;
  for (const job of jobs.values()) {
    if (job.state !== 'succeeded') {
      if (++unfinished <= 5) violate(`${job.id} is ${job.state} at the end: every job must have finished`);
      continue;
    }
    const result = job.result === undefined ? undefined : (JSON.parse(job.result) as { attempt?: number });
    if (result?.attempt !== job.attempts)
      violate(
        `${job.id}: the result names attempt ${result?.attempt}, the record counts ${job.attempts} attempt(s): the success recorded is not the last run's`,
      );
    if (!runsOf.has(job.id)) violate(`${job.id} succeeded but never ran (no line in the side file runs)`);
  }
  for (const id of runsOf.keys()) if (!jobs.has(id)) violate(`${id} ran but is not on record at the end`);
  let duplicates = 0;
  let extraRuns = 0;
  for (const [id, list] of runsOf) {
    if (list.length > 1) {
      duplicates++;
      extraRuns += list.length - 1;
      if (!inFlightAtKill.has(id)) violate(`${id} ran ${list.length} times but was never in flight at a kill`);
    }
  }
  for (const [id, w] of awaitingRerun) {
    const job = jobs.get(id);
    if (job && job.attempts <= w.attempts)
      violate(`${id} was running at the kill ending epoch ${w.epoch} (attempts ${w.attempts}) and never started again`);
  }

  const totalMs = Date.now() - began;
  console.log(
    `  ${epoch - 1} processes: ${stats.kills} killed (${Object.entries(stats.byMode)
      .map(([m, k]) => `${m} ${k}`)
      .join(', ')}), ${stats.cleanCloses} closed cleanly; ` +
      `torn journal tails cut at restart: ${stats.torn}; jobs found running at restart: ${stats.interrupted}; ` +
      `hot reloads ${stats.reloads} (module rewrites ${stats.touches}); kills aimed at a compaction's files: ${stats.compactionsSeen}; extra runs ${extraRuns}; ` +
      `most jobs started on disk at one kill: ${stats.maxStartedAtKill} (the child runs 2 threads × workerConcurrency 4, prefetch 2); jobs on disk ${jobs.size}`,
  );
  console.log(
    `kills: ${stats.kills}, acknowledged: ${acked.size}, lost: ${lost}, duplicates: ${duplicates} (in flight at kill: ${inFlightAtKill.size})`,
  );
  console.log(
    `time: ${(totalMs / 1000).toFixed(1)} s (kill loop ${(loopMs / 1000).toFixed(1)} s, of which reading the data dir after each process ${(readMs / 1000).toFixed(1)} s; final run ${(finalMs / 1000).toFixed(1)} s)`,
  );

  const changed = await changedSince(join(ROOT, 'src'), began);
  if (changed.length > 0) {
    console.log(
      `note: ${changed.length} file(s) under src/ changed during the run (children started after a change ran the new code): ${changed.slice(0, 10).join(', ')}`,
    );
  }
  if (violations.length > 0) {
    console.error(`\n${violations.length} violation(s):`);
    for (const v of violations.slice(0, 50)) console.error(`  - ${v}`);
    if (violations.length > 50) console.error(`  … and ${violations.length - 50} more`);
    console.error(`work dir kept: ${work} (epochs.jsonl, side/, data/); seed ${SEED}`);
    process.exit(1);
  }
  if (KEEP) console.log(`work dir kept: ${work}`);
  else await rm(work, { recursive: true, force: true });
}

await main();
