// Several hosts on one Redis, at scale and under SIGKILLs (issue 14). Starts its own
// redis-server (AOF, appendfsync always) on 127.0.0.1 and host processes
// (test/fixtures/broker-host/host.ts, concurrency 1 each), and checks:
// - spread: N jobs sent from a third app that runs none; each has its result (0 lost),
//   run by one of the two hosts, and each host ran at least 30 % of them;
// - kills: host A is SIGKILLed while it runs jobs, K times (started again after each
//   recovery); host B runs throughout. Every job A had begun and not ended at its kill
//   starts again on B, flagged recovered, within 5 s of the kill; every job sent has its
//   result at the end (0 accepted jobs lost).
//   npm run torture:broker -- [--jobs N] [--kills K] [--seed S]
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startRedis, wipe } from '../../bench/servers.js';
import { createCeleriac, type Celeriac } from '../../src/index.js';
import { readRuns } from '../helpers.js';

const HOST = fileURLToPath(new URL('../fixtures/broker-host/host.ts', import.meta.url));
const TASKS = fileURLToPath(new URL('../fixtures/contract/tasks.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Short locks so that a dead host's jobs are found within about 1.5 s (BullMQ's defaults: 30 s, 30 s). */
const FAST_STALLS = 'lockDuration=1s&stalledInterval=500ms';
/** How soon an interrupted job must start again on the other host. */
const RECOVERY_LIMIT_MS = 5000;
/** How long a job of the kill phase runs: long enough to be caught running. */
const JOB_MS = 400;

export interface HostsReport {
  jobs: number;
  share: Record<string, number>;
  kills: number;
  interrupted: number;
  slowestRecoveryMs: number;
  violations: string[];
}

interface Host {
  child: ChildProcess;
  pid: number;
  exited: Promise<number | null>;
}

async function spawnHost(broker: string, queue: string): Promise<Host> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  const child = spawn(process.execPath, ['--import', 'tsx', HOST, broker, queue], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let out = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (out.includes('ready\n')) resolve();
    });
    void exited.then((code) => reject(new Error(`a host exited (${code}) before it was ready`)));
  });
  return { child, pid: child.pid!, exited };
}

async function stopHost(h: Host): Promise<void> {
  h.child.kill('SIGTERM');
  const timer = setTimeout(() => h.child.kill('SIGKILL'), 15_000);
  await h.exited;
  clearTimeout(timer);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitUntil<T>(check: () => Promise<T | undefined>, ms: number): Promise<T | undefined> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined || Date.now() > until) return v;
    await sleep(20);
  }
}

/** N jobs over two hosts: every result there, each host ≥ 30 %. */
async function spread(broker: string, jobs: number, violations: string[]): Promise<Record<string, number>> {
  const [a, b] = await Promise.all([spawnHost(broker, 'spread'), spawnHost(broker, 'spread')]);
  let sender: Celeriac | undefined;
  try {
    sender = await createCeleriac({ broker, queue: 'spread', tasks: [TASKS], logger: false, start: false });
    const handles = [];
    for (let i = 0; i < jobs; i += 500)
      handles.push(
        ...(await sender.sendMany(
          'contract.pid',
          Array.from({ length: Math.min(500, jobs - i) }, () => []),
        )),
      );
    const pids = await Promise.all(handles.map((h) => h.result({ timeout: 600 }).catch((err: Error) => `${h.id}: ${err.message}`)));
    const share: Record<string, number> = { [a.pid]: 0, [b.pid]: 0 };
    for (const p of pids) {
      if (p === a.pid || p === b.pid) share[p as number]!++;
      else violations.push(`spread: no result from either host: ${String(p)}`);
    }
    for (const pid of [a.pid, b.pid]) {
      if (share[pid]! < jobs * 0.3) violations.push(`spread: host ${pid} ran ${share[pid]} of ${jobs} jobs (< 30 %)`);
    }
    return share;
  } finally {
    await sender?.close({ timeout: 1 });
    await Promise.all([stopHost(a), stopHost(b)]);
  }
}

/** K SIGKILLs of host A while it runs jobs; host B stays. */
async function killLoop(
  broker: string,
  kills: number,
  random: () => number,
  log: string,
  violations: string[],
  onKill?: (n: number) => void,
): Promise<{ interrupted: number; slowest: number }> {
  const url = `${broker}?${FAST_STALLS}`;
  const b = await spawnHost(url, 'kills');
  const sender = await createCeleriac({ broker: url, queue: 'kills', tasks: [TASKS], logger: false, start: false });
  const handles = [];
  let interrupted = 0;
  let slowest = 0;
  try {
    for (let k = 0; k < kills; k++) {
      // Sent once A is up (B alone would have run them all while A starts): both take some.
      const a = await spawnHost(url, 'kills');
      handles.push(
        ...(await sender.sendMany(
          'contract.wait',
          Array.from({ length: 20 }, () => [log, JOB_MS]),
        )),
      );
      const open = async () => {
        const runs = await readRuns(log);
        const ended = new Set(runs.filter((r) => r.phase === 'end' && (r as { pid?: number }).pid === a.pid).map((r) => r.id));
        const begun = runs.filter((r) => r.phase === 'start' && (r as { pid?: number }).pid === a.pid && !ended.has(r.id));
        return begun.length > 0 ? begun : undefined;
      };
      if (!(await waitUntil(open, 30_000))) violations.push(`kill ${k + 1}: host A ran no job within 30 s`);
      await sleep(random() * (JOB_MS / 2));
      a.child.kill('SIGKILL');
      const killedAt = Date.now();
      await a.exited;
      onKill?.(k + 1);
      const caught = (await open()) ?? [];
      interrupted += caught.length;
      for (const run of caught) {
        const again = await waitUntil(
          async () =>
            (await readRuns(log)).find(
              (r) => r.id === run.id && r.phase === 'start' && (r as { pid?: number }).pid === b.pid && r.at > run.at,
            ),
          30_000,
        );
        if (!again) violations.push(`kill ${k + 1}: job ${run.id}, interrupted on host A, did not start again on host B within 30 s`);
        else {
          slowest = Math.max(slowest, again.at - killedAt);
          if (!again.recovered) violations.push(`kill ${k + 1}: job ${run.id} ran again on host B without the recovered flag`);
          if (again.at - killedAt > RECOVERY_LIMIT_MS)
            violations.push(
              `kill ${k + 1}: job ${run.id} started again ${again.at - killedAt} ms after the kill (> ${RECOVERY_LIMIT_MS} ms)`,
            );
        }
      }
    }
    if (interrupted < kills / 2)
      violations.push(`only ${interrupted} jobs were caught running in ${kills} kills: the kills did not land while jobs ran`);
    const outcomes = await Promise.all(handles.map((h) => h.result({ timeout: 600 }).catch((err: Error) => `${h.id}: ${err.message}`)));
    for (const o of outcomes) if (o !== 'finished') violations.push(`kills: a job sent did not finish: ${String(o)}`);
    return { interrupted, slowest };
  } finally {
    await sender.close({ timeout: 1 });
    await stopHost(b);
  }
}

export async function brokerHosts({
  jobs,
  kills,
  seed,
  onKill,
}: {
  jobs: number;
  kills: number;
  seed: number;
  onKill?: (n: number) => void;
}): Promise<HostsReport> {
  let rs = seed >>> 0;
  const random = () => {
    rs = (Math.imul(rs, 1664525) + 1013904223) >>> 0;
    return rs / 4294967296;
  };
  const work = await mkdtemp(join(tmpdir(), 'celeriac-broker-hosts-'));
  const violations: string[] = [];
  const redis = await startRedis(work, () => {});
  try {
    const broker = `redis://${redis.host}:${redis.port}`;
    const share = jobs > 0 ? await spread(broker, jobs, violations) : {};
    const { interrupted, slowest } =
      kills > 0 ? await killLoop(broker, kills, random, join(work, 'runs.jsonl'), violations, onKill) : { interrupted: 0, slowest: 0 };
    return { jobs, share, kills, interrupted, slowestRecoveryMs: slowest, violations };
  } finally {
    await redis.stop();
    if (violations.length === 0) {
      wipe(work);
    } else console.error(`kept ${work} for inspection`);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const arg = (name: string, dflt: number) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? Number(process.argv[i + 1]) : dflt;
  };
  const seed = arg('seed', Date.now() % 2 ** 31);
  const began = Date.now();
  const r = await brokerHosts({
    jobs: arg('jobs', 10_000),
    kills: arg('kills', 20),
    seed,
    onKill: (n) => process.stderr.write(`\rkills: ${n}`),
  });
  process.stderr.write('\n');
  const share = Object.entries(r.share)
    .map(([pid, n]) => `${pid}: ${n} (${Math.round((100 * n) / r.jobs)} %)`)
    .join(', ');
  console.log(
    `seed ${seed}: ${r.jobs} jobs over 2 hosts (${share}); ${r.kills} SIGKILLs, ${r.interrupted} running jobs interrupted, slowest rerun ${r.slowestRecoveryMs} ms after its kill; ${r.violations.length} violations, in ${Math.round((Date.now() - began) / 1000)} s`,
  );
  for (const v of r.violations) console.error(`  - ${v}`);
  process.exit(r.violations.length === 0 ? 0 : 1);
}
