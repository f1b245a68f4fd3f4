// The workflow kill loop, shared by test/workflow-kill.test.ts (a short run in npm test)
// and `npm run torture:workflows` (200 workflows): a child process runs chords whose
// members are chains and is SIGKILLed at random moments, again and again, until one life
// completes them all. Then every step of every workflow must have succeeded (no step
// lost), no job may have begun more than once unflagged (one created twice would: a run
// after a kill is flagged recovered), and each chord's callback must hold the right result.
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createCeleriac } from '../src/index.js';

const CHILD = fileURLToPath(new URL('./fixtures/workflows/kill-child.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('..', import.meta.url));

interface Life {
  done: boolean;
  killed: boolean;
}

/** One child life: killed `killAfterMs` after it is ready, unless it finishes first. */
function life(dir: string, count: number, runs: string, killAfterMs: number | undefined): Promise<Life> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', CHILD, dir, String(count)], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, KILL_RUNS: runs },
    });
    let out = '';
    let err = '';
    let killed = false;
    let timer: NodeJS.Timeout | undefined;
    const guard = setTimeout(() => proc.kill('SIGKILL'), 180_000);
    proc.stdout.setEncoding('utf8').on('data', (c: string) => {
      out += c;
      if (killAfterMs !== undefined && !timer && out.includes('READY')) {
        // Killed after killAfterMs, or sooner once a random few more task runs began: on a
        // fast machine a life can finish every workflow before a timer alone fires.
        const began = Date.now();
        const runsAtReady = countLines(runs);
        const afterRuns = 1 + Math.floor(Math.random() * count);
        timer = setInterval(() => {
          if (Date.now() - began < killAfterMs && countLines(runs) - runsAtReady < afterRuns) return;
          clearInterval(timer);
          killed = true;
          proc.kill('SIGKILL');
        }, 5);
      }
    });
    proc.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
    proc.on('error', reject);
    proc.on('exit', (code, signal) => {
      clearInterval(timer);
      clearTimeout(guard);
      const done = out.includes('DONE');
      if (!killed && !done) reject(new Error(`the child exited (${code ?? signal}) without finishing:\n${err}`));
      else resolve({ done, killed });
    });
  });
}

function countLines(file: string): number {
  try {
    const text = readFileSync(file, 'utf8');
    let n = 0;
    for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) n++;
    return n;
  } catch {
    return 0;
  }
}

export interface KillLoopReport {
  kills: number;
  lives: number;
  recoveredRuns: number;
}

export async function workflowKillLoop(
  dir: string,
  count: number,
  maxKills: number,
  killWindowMs: [number, number],
): Promise<KillLoopReport> {
  const data = join(dir, 'data');
  const runs = join(dir, 'runs.jsonl');
  let kills = 0;
  let lives = 0;
  for (;;) {
    lives++;
    const [lo, hi] = killWindowMs;
    const l = await life(data, count, runs, kills < maxKills ? lo + Math.random() * (hi - lo) : undefined);
    if (l.done) break;
    kills++;
  }
  const app = await createCeleriac({
    dir: data,
    tasks: [fileURLToPath(new URL('./fixtures/workflows/kill-tasks.ts', import.meta.url))],
    logger: false,
    concurrency: 1,
  });
  try {
    const started = existsSync(runs)
      ? readFileSync(runs, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as { id: string; task: string; recovered: boolean })
      : [];
    const fresh = new Map<string, number>();
    const any = new Set<string>();
    for (const r of started) {
      any.add(r.id);
      if (!r.recovered) fresh.set(r.id, (fresh.get(r.id) ?? 0) + 1);
    }
    for (const [id, n] of fresh) assert.equal(n, 1, `job ${id} began ${n} times not flagged recovered: created or started twice`);
    for (let i = 0; i < count; i++) {
      for (const id of [`w${i}.0.0`, `w${i}.0.1`, `w${i}.1.0`, `w${i}.2.0`, `w${i}.cb`]) {
        const info = await app.get(id);
        assert.equal(info?.state, 'succeeded', `workflow w${i}: job ${id} is ${info?.state ?? 'missing'}`);
        // A job that was started (handed to a worker) when a kill came may not have begun; its next run is flagged recovered all the same.
        assert.ok(any.has(id), `job ${id} succeeded without a recorded run`);
      }
      assert.deepEqual((await app.get(`w${i}.cb`))?.result, { i, total: (i + 1) * 2 + (i + 2) + (i + 3) });
    }
    return { kills, lives, recoveredRuns: started.filter((r) => r.recovered).length };
  } finally {
    await app.close();
  }
}

// `npm run torture:workflows [count] [kills]`
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { mkdtemp, rm } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const dir = await mkdtemp(join(tmpdir(), 'celeriac-wf-kill-'));
  try {
    const count = Number(process.argv[2] ?? 200);
    const report = await workflowKillLoop(dir, count, Number(process.argv[3] ?? 30), [20, 2500]);
    console.log(
      `${count} workflows (chords of a 2-step chain and 2 tasks, then a callback): ${report.kills} SIGKILLs over ${report.lives} lives, ${report.recoveredRuns} recovered runs; every step succeeded once, every callback created and begun once`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
