// One owner per data dir: a second open in this process or in another one is refused
// (naming the holder), a lock left by a killed process is taken over, close() gives the
// dir back. Real processes, real SIGKILL, real files.
import { strict as assert } from 'node:assert';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createCeleriac, type CeleriacError, type CeleriacOptions } from '../src/index.js';
import { acquireLock } from '../src/store/lock.js';
import { fixture, tempDir, waitFor } from './helpers.js';
import { spawnChild } from './fixtures/crash/spawn-child.js';

const TASKS = fixture('crash', 'tasks');
/** A bound on each test, so that a hang fails instead of stalling the run (they take a few seconds). */
const LIMIT_MS = 120_000;
const options = (dir: string): CeleriacOptions => ({ dir, tasks: TASKS, logger: false, concurrency: 1 });
const locked = (err: CeleriacError) => err.code === 'DATA_DIR_LOCKED';

test('a second app on the same dir in the same process is refused, and the first keeps its lock', { timeout: LIMIT_MS }, async (t) => {
  const dir = join(await tempDir(t), 'data');
  const first = await createCeleriac(options(dir));
  t.after(() => first.close({ timeout: 1 }));
  const lockText = await readFile(join(dir, 'LOCK'), 'utf8');

  await assert.rejects(createCeleriac(options(dir)), (err: CeleriacError) => {
    assert.equal(err.code, 'DATA_DIR_LOCKED');
    assert.ok(err.message.includes(dir), `names the dir: ${err.message}`);
    return true;
  });
  // The refused open took nothing away from the owner.
  assert.equal(await readFile(join(dir, 'LOCK'), 'utf8'), lockText);
  await assert.rejects(createCeleriac(options(dir)), locked, 'still refused the second time');
  await first.start();
  const h = await first.send('crash.add', [20, 22]);
  assert.equal(await h.result({ timeout: 10 }), 42);
});

test('an app in another process holds the dir: opening it here is refused, naming its pid', { timeout: LIMIT_MS }, async (t) => {
  const dir = join(await tempDir(t), 'data');
  const child = spawnChild(t, ['hold', dir]);
  const ready = await child.waitLine((l) => l.startsWith('ready '), 30_000, 'ready');
  const pid = Number(ready.split(' ')[1]);
  assert.equal(pid, child.pid);

  await assert.rejects(createCeleriac(options(dir)), (err: CeleriacError) => {
    assert.equal(err.code, 'DATA_DIR_LOCKED');
    assert.match(err.message, new RegExp(`\\bpid ${pid}\\b`), `names the holder: ${err.message}`);
    return true;
  });
  // Refused without touching the holder's lock.
  assert.equal((JSON.parse(await readFile(join(dir, 'LOCK'), 'utf8')) as { pid: number }).pid, pid);
  assert.equal(child.proc.exitCode, null, 'the holder goes on');
});

test('a LOCK left by a SIGKILLed process is taken over, and its jobs are there', { timeout: LIMIT_MS }, async (t) => {
  const dir = join(await tempDir(t), 'data');
  const child = spawnChild(t, ['hold', dir]);
  await child.waitLine((l) => l.startsWith('ready '), 30_000, 'ready');
  await child.kill();
  const stale = JSON.parse(await readFile(join(dir, 'LOCK'), 'utf8')) as { pid: number };
  assert.equal(stale.pid, child.pid, 'the killed process left its LOCK behind');

  const app = await createCeleriac(options(dir));
  t.after(() => app.close({ timeout: 1 }));
  const now = JSON.parse(await readFile(join(dir, 'LOCK'), 'utf8')) as { pid: number };
  assert.equal(now.pid, process.pid, 'the LOCK is ours now');
  assert.equal((await app.get('held-1'))?.state, 'pending', 'the job the dead process accepted');
  await app.start();
  assert.equal(await (await app.job('held-1'))!.result({ timeout: 10 }), 3);
  // And it is a real lock again: another opener is refused.
  await assert.rejects(createCeleriac(options(dir)), locked);
});

test('a LOCK whose pid now belongs to another process (a recycled pid) is taken over', { timeout: LIMIT_MS }, async (t) => {
  const dir = join(await tempDir(t), 'data');
  // A live process that is not the owner: same pid as in the LOCK, another start time.
  const other = spawn(process.execPath, ['-e', 'setInterval(() => {}, 60000)'], { stdio: 'ignore' });
  t.after(() => {
    other.kill('SIGKILL');
  });
  await waitFor(() => existsSync(`/proc/${other.pid}/stat`), 5000, 'the process to exist');
  const first = await createCeleriac(options(dir));
  await first.close();
  await writeFile(join(dir, 'LOCK'), JSON.stringify({ pid: other.pid, start: '1', host: hostname(), since: new Date(0).toISOString() }));

  const app = await createCeleriac(options(dir));
  t.after(() => app.close({ timeout: 1 }));
  assert.equal((JSON.parse(await readFile(join(dir, 'LOCK'), 'utf8')) as { pid: number }).pid, process.pid);
});

test('close() releases the dir: it opens again, in this process and in another', { timeout: LIMIT_MS }, async (t) => {
  const dir = join(await tempDir(t), 'data');
  const app = await createCeleriac(options(dir));
  await app.send('crash.add', [1, 1], { id: 'before-close' });
  await app.close();
  assert.equal(existsSync(join(dir, 'LOCK')), false, 'close() removes the LOCK');

  const again = await createCeleriac(options(dir));
  assert.equal((await again.get('before-close'))?.state, 'pending');
  await again.close();

  // Another process can take it too, and sees the job.
  const child = spawnChild(t, ['hold', dir]);
  const ready = await child.waitLine((l) => l.startsWith('ready '), 30_000, 'ready');
  assert.equal(Number(ready.split(' ')[1]), child.pid);
  await child.kill();
});

test('openers racing for one dir: exactly one gets it, every time', { timeout: LIMIT_MS }, async (t) => {
  const root = await tempDir(t);
  // In one process, straight at the lock (an app open costs a worker thread): many rounds,
  // because a race shows only now and then.
  for (let round = 0; round < 200; round++) {
    const dir = await mkdtemp(join(root, 'race-'));
    const results = await Promise.allSettled([acquireLock(dir), acquireLock(dir), acquireLock(dir)]);
    const winners = results.filter((r) => r.status === 'fulfilled');
    assert.equal(winners.length, 1, `round ${round}: ${winners.length} openers got the lock`);
    for (const r of results) if (r.status === 'rejected') assert.equal((r.reason as CeleriacError).code, 'DATA_DIR_LOCKED');
    await (winners[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof acquireLock>>>).value.release();
  }
  // Across processes, with whole apps: four children start on one dir at once.
  const dir = join(root, 'data');
  const children = Array.from({ length: 4 }, () => spawnChild(t, ['hold', dir]));
  await Promise.all(children.map((c) => c.waitLine((l) => l.startsWith('ready '), 60_000, 'ready').catch(() => undefined)));
  await Promise.all(children.map((c) => (c.lines.some((l) => l.startsWith('ready ')) ? undefined : c.exited)));
  const holders = children.filter((c) => c.lines.some((l) => l.startsWith('ready ')));
  assert.equal(holders.length, 1, `${holders.length} processes hold the dir`);
  for (const c of children) {
    if (c !== holders[0]) assert.match(c.stderr(), /DATA_DIR_LOCKED|is in use by pid/, 'the others were refused');
  }
});
