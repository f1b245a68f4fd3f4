// The schedule kill loop: a schedule every second (missed: 'all'), its process SIGKILLed
// at random moments (while it starts, catches up, sends, runs), started again each time;
// then one last process runs for a few seconds and stops warm. The data dir must then
// hold one job for every second from the first slot to the last — none missed — and no
// slot may have been sent twice (a second job for a slot would start over at attempt 1).
//   npm run torture:schedules -- [--kills N] [--seed S]
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readJobs } from '../../src/admin.js';
import { parseSlotId } from '../../src/schedule/ids.js';
import { readRuns } from '../helpers.js';

const CHILD = fileURLToPath(new URL('./schedule-child.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface KillReport {
  kills: number;
  slots: number;
  missed: string[];
  sentTwice: string[];
  violations: string[];
}

function spawnChild(dir: string, runs: string): { child: ChildProcess; ready: Promise<void>; exited: Promise<number | null> } {
  const env: NodeJS.ProcessEnv = { ...process.env, SCHEDULE_RUNS: runs };
  delete env.NODE_TEST_CONTEXT;
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dir], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const ready = new Promise<void>((resolve) => {
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (out.includes('ready\n')) resolve();
    });
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, ready, exited };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function scheduleKills({
  kills,
  seed,
  onKill,
}: {
  kills: number;
  seed: number;
  onKill?: (n: number) => void;
}): Promise<KillReport> {
  let rs = seed >>> 0;
  const random = () => {
    rs = (Math.imul(rs, 1664525) + 1013904223) >>> 0;
    return rs / 4294967296;
  };
  const work = await mkdtemp(join(tmpdir(), 'celeriac-schedule-kills-'));
  const dir = join(work, 'data');
  const runs = join(work, 'runs.jsonl');
  const violations: string[] = [];
  const firstStart = Date.now();
  try {
    for (let k = 0; k < kills; k++) {
      const c = spawnChild(dir, runs);
      // Half the kills land while the process starts or catches up, half while it runs.
      const early = random() < 0.5;
      if (!early) await Promise.race([c.ready, c.exited]);
      await sleep(early ? random() * 1500 : 200 + random() * 2500);
      c.child.kill('SIGKILL');
      const code = await c.exited;
      if (code !== null) violations.push(`process ${k + 1} exited by itself with code ${code} before its kill`);
      onKill?.(k + 1);
    }
    // The last process: catches up, runs a few seconds, stops warm (its running job finishes).
    const last = spawnChild(dir, runs);
    await Promise.race([last.ready, last.exited]);
    await sleep(3000);
    last.child.kill('SIGTERM');
    const code = await last.exited;
    if (code !== 0) violations.push(`the last process exited with code ${code} after SIGTERM`);

    const jobs = [...(await readJobs(dir)).values()];
    const slots = jobs.map((j) => {
      const parsed = parseSlotId(j.id);
      if (!parsed || parsed.name !== 'kill.every-second') violations.push(`a job that is not a slot of the schedule: ${j.id}`);
      else if (j.runAt !== parsed.slot.getTime()) violations.push(`${j.id}: eta ${new Date(j.runAt).toISOString()} is not its slot`);
      return parsed?.slot.getTime() ?? 0;
    });
    slots.sort((a, b) => a - b);
    const missed: string[] = [];
    for (let i = 1; i < slots.length; i++) {
      for (let t = slots[i - 1]! + 1000; t < slots[i]!; t += 1000) missed.push(new Date(t).toISOString());
    }
    if (slots.length < 2) violations.push(`only ${slots.length} slot(s) on record`);
    else if (slots[0]! - firstStart > 60_000)
      violations.push(`the first slot ${new Date(slots[0]!).toISOString()} is long after the first start`);
    const firstRuns = new Map<string, number>();
    for (const r of await readRuns(runs)) if (r.attempt === 1) firstRuns.set(r.id, (firstRuns.get(r.id) ?? 0) + 1);
    const sentTwice = [...firstRuns].filter(([, n]) => n > 1).map(([id]) => id);
    return { kills, slots: slots.length, missed, sentTwice, violations };
  } finally {
    if (violations.length === 0) await rm(work, { recursive: true, force: true });
    else console.error(`kept ${work} for inspection`);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const arg = (name: string, dflt: number) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? Number(process.argv[i + 1]) : dflt;
  };
  const seed = arg('seed', Date.now() % 2 ** 31);
  const began = Date.now();
  const report = await scheduleKills({ kills: arg('kills', 50), seed, onKill: (n) => process.stderr.write(`\rkills: ${n}`) });
  process.stderr.write('\n');
  console.log(
    `seed ${seed}: kills ${report.kills}, slots ${report.slots}, missed ${report.missed.length}, sent twice ${report.sentTwice.length}, in ${Math.round((Date.now() - began) / 1000)} s`,
  );
  for (const v of [...report.violations, ...report.missed.map((m) => `missed ${m}`), ...report.sentTwice.map((s) => `sent twice ${s}`)])
    console.error(`  - ${v}`);
  process.exit(report.violations.length + report.missed.length + report.sentTwice.length === 0 ? 0 : 1);
}
