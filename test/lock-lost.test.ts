// The lock is more than a file: the owner listens on <dir>/worker.sock for its life, so
// deleting LOCK does not let a second owner in; and a running owner notices within a
// second or two when its LOCK, socket or whole dir is removed or replaced, refuses sends
// with DATA_DIR_LOST and stops (`celeriac worker` exits non-zero).
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { createCeleriac, type Celeriac, type CeleriacError } from '../src/index.js';
import { acquireLock } from '../src/store/lock.js';
import { celeriac, ensureBuilt, exitWithin, explain, importTask, json, project, startWorker } from './cli-helpers.js';
import { fixture, ROOT, tempDir } from './helpers.js';

const LIMIT_MS = 120_000;

/** A process that holds the dir's lock (LOCK file and socket) and never checks it: only the kernel keeps others out. */
async function holder(t: TestContext, dir: string): Promise<number> {
  const file = join(await tempDir(t), 'hold.mts');
  await writeFile(
    file,
    `import { acquireLock } from ${JSON.stringify(join(ROOT, 'src', 'store', 'lock.ts'))};\nawait acquireLock(${JSON.stringify(dir)});\nconsole.log('held');\nsetInterval(() => {}, 60_000);\n`,
  );
  const child = spawn(process.execPath, ['--import', 'tsx', file], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => {
    child.kill('SIGKILL');
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`the holder exited (${code})`)));
  });
  return child.pid!;
}

test('after rm LOCK, a second opener is still refused while the owner lives, naming its pid', { timeout: LIMIT_MS }, async (t) => {
  const dir = join(await tempDir(t), 'data');
  await mkdir(dir, { mode: 0o700 });
  const pid = await holder(t, dir);
  await rm(join(dir, 'LOCK'));
  await assert.rejects(acquireLock(dir), (err: CeleriacError) => {
    assert.equal(err.code, 'DATA_DIR_LOCKED');
    assert.match(err.message, new RegExp(`in use by pid ${pid}\\b.*LOCK file was missing`));
    return true;
  });
  // The same in one process: the first app's socket answers with this very pid.
  const other = join(await tempDir(t), 'data');
  const first = await acquireLock((await mkdir(other, { recursive: true, mode: 0o700 }), other));
  t.after(() => first.release());
  await rm(join(other, 'LOCK'));
  await assert.rejects(acquireLock(other), /already open in this process/);
});

async function ownerApp(t: TestContext): Promise<{ app: Celeriac; dir: string; fatal: Promise<CeleriacError> }> {
  const dir = join(await tempDir(t), 'data');
  const app = await createCeleriac({ dir, tasks: [fixture('basic')], logger: false, concurrency: 1 });
  const fatal = app.failed;
  t.after(() => app.close({ timeout: 1 }));
  await app.start();
  assert.equal(await (await app.send('math.add', [1, 2])).result({ timeout: 10 }), 3);
  return { app, dir, fatal };
}

const within = <T>(p: Promise<T>, ms: number, what: string) =>
  Promise.race([
    p,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms).unref()),
  ]);

for (const [name, act, why] of [
  ['its LOCK is removed', (dir: string) => rm(join(dir, 'LOCK')), /LOCK file was removed/],
  ['its socket is removed', (dir: string) => rm(join(dir, 'worker.sock')), /socket worker.sock was removed/],
  // rm -rf removes the files before the dir: the owner may see any of them go first.
  [
    'its dir is deleted (rm -rf)',
    (dir: string) => rm(dir, { recursive: true, force: true }),
    /the dir was deleted|its LOCK file was removed|socket worker.sock was removed/,
  ],
  [
    'its dir is replaced',
    async (dir: string) => {
      await rename(dir, `${dir}.old`);
      await mkdir(dir, { mode: 0o700 });
    },
    /the dir was replaced/,
  ],
] as const) {
  test(`a running owner notices when ${name}: it refuses sends with DATA_DIR_LOST and stops`, { timeout: LIMIT_MS }, async (t) => {
    const { app, dir, fatal } = await ownerApp(t);
    await act(dir);
    const err = await within(fatal, 20_000, 'app.failed');
    assert.equal(err.code, 'DATA_DIR_LOST');
    assert.match(err.message, why);
    await assert.rejects(
      app.send('math.add', [2, 2]),
      (e: CeleriacError) => e.code === 'DATA_DIR_LOST',
      'no send is acknowledged after the loss',
    );
  });
}

test('celeriac worker exits non-zero when its data dir is deleted under it', { timeout: LIMIT_MS }, async (t) => {
  ensureBuilt();
  const cwd = await project(t, {
    'celeriac.config.json': JSON.stringify({ dir: 'data', tasks: ['tasks'], concurrency: 1 }),
    'tasks/add.js': `${importTask()}export const add = task('math.add', (a, b) => a + b);\n`,
  });
  const worker = await startWorker(t, cwd);
  await rm(join(cwd, 'data'), { recursive: true, force: true });
  const exit = await exitWithin(worker, 30_000);
  assert.equal(exit.code, 1, `exit ${exit.code}/${exit.signal}\n${worker.stdout()}\n${worker.stderr()}`);
  assert.match(
    worker.stderr(),
    /celeriac worker: data dir .* is no longer this worker's .*(?:the dir was deleted|its LOCK file was removed|socket worker.sock was removed)/,
  );
});

test('a LOCK left on another host: the worker refuses and says how to release it; doctor explains it; --release-lock frees the dir', {
  timeout: LIMIT_MS,
}, async (t) => {
  ensureBuilt();
  const cwd = await project(t, {
    'celeriac.config.json': JSON.stringify({ dir: 'data', tasks: ['tasks'], concurrency: 1 }),
    'tasks/add.js': `${importTask()}export const add = task('math.add', (a, b) => a + b);\n`,
  });
  const dir = join(cwd, 'data');
  await mkdir(dir, { mode: 0o700 });
  const left = { pid: 4242, host: 'replaced-container-7f3a', since: '2026-01-01T00:00:00.000Z' };
  await writeFile(join(dir, 'LOCK'), JSON.stringify(left), { mode: 0o600 });

  await assert.rejects(createCeleriac({ dir, tasks: [fixture('basic')], logger: false }), (err: CeleriacError) => {
    assert.equal(err.code, 'DATA_DIR_LOCKED');
    assert.match(err.message, /on replaced-container-7f3a.*release the lock: celeriac doctor --release-lock/);
    return true;
  });
  const doctor = await celeriac(t, cwd, ['doctor', '--json']);
  assert.equal(doctor.code, 1, explain(doctor, 'doctor reports the lock as a problem'));
  const check = json<{ checks: { ok: boolean; what: string; fix?: string }[] }>(doctor).checks.find((c) =>
    /LOCK left by pid 4242 on host replaced-container-7f3a/.test(c.what),
  );
  assert.ok(check && !check.ok, explain(doctor));
  assert.match(check.fix ?? '', /celeriac doctor --release-lock/);

  const release = await celeriac(t, cwd, ['doctor', '--release-lock']);
  assert.equal(release.code, 0, explain(release));
  assert.match(release.stdout, /released the LOCK .* left by pid 4242 on replaced-container-7f3a/);
  const app = await createCeleriac({ dir, tasks: [fixture('basic')], logger: false, concurrency: 1 });
  await app.close();
});

test('--release-lock refuses while a live process holds the dir, even with a foreign-host LOCK in place', {
  timeout: LIMIT_MS,
}, async (t) => {
  ensureBuilt();
  const cwd = await project(t, { 'celeriac.config.json': JSON.stringify({ dir: 'data' }) });
  const dir = join(cwd, 'data');
  await mkdir(dir, { mode: 0o700 });
  const pid = await holder(t, dir);
  const plain = await celeriac(t, cwd, ['doctor', '--release-lock']);
  assert.equal(plain.code, 1, explain(plain));
  assert.match(plain.stderr, new RegExp(`held by a running worker \\(pid ${pid}\\)`));
  // Someone rewrote the LOCK as if another host held it: the socket still tells the truth.
  const forged = JSON.stringify({ pid: 1, host: 'elsewhere', since: 'x' });
  await writeFile(join(dir, 'LOCK'), forged);
  const again = await celeriac(t, cwd, ['doctor', '--release-lock']);
  assert.equal(again.code, 1, explain(again));
  assert.equal(await readFile(join(dir, 'LOCK'), 'utf8'), forged, 'left as it was');
});
