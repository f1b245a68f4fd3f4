// A failing disk (EIO on the journal) must not leave a zombie: waiters of result() are
// failed with the I/O error, sends are refused (STORE_FAILED), the app stops by itself,
// and `celeriac worker` exits non-zero so that a supervisor restarts it. The I/O errors
// are real: an ext4 image on a loop device, shut down with the EXT4_IOC_SHUTDOWN ioctl
// (what the kernel does to a filesystem whose disk fails): every write after it gets EIO.
// Needs root, mount -o loop, mkfs.ext4 and python3 (for the ioctl); skipped otherwise.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, test, type TestContext } from 'node:test';
import { readJobs } from '../src/admin.js';
import { CeleriacError, createCeleriac } from '../src/index.js';
import { celeriac, ensureBuilt, exitWithin, explain, importTask, project, startWorker, waitFile } from './cli-helpers.js';
import { fixture } from './helpers.js';

// EXT4_IOC_SHUTDOWN (_IOR('X', 125, __u32)) with EXT4_GOING_FLAGS_NOLOGFLUSH.
const SHUTDOWN_PY = `import fcntl, os, struct, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
fcntl.ioctl(fd, 0x8004587D, struct.pack('I', 2))
`;

/** Fails (instead of hanging the test) if `p` has not settled within a minute. */
async function within<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not settle within 60 s`)), 60_000))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

interface FailingDisk {
  mnt: string;
  /** From now on every write to the filesystem fails with EIO. */
  fail(): void;
  /** Unmount and mount the image again (what survived on disk). */
  remount(): void;
}

function run(cmd: string, args: string[]): { ok: boolean; why: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return { ok: r.status === 0, why: `${cmd} ${args.join(' ')}: ${r.error?.message ?? (r.stderr || `exit ${r.status}`)}`.trim() };
}

async function failingDisk(t: TestContext): Promise<FailingDisk | string> {
  if (process.getuid?.() !== 0) return 'needs root to mount a loop device';
  const base = await mkdtemp(join(tmpdir(), 'celeriac-eio-'));
  const img = join(base, 'disk.img');
  const mnt = join(base, 'mnt');
  let mounted = false;
  t.after(async () => {
    if (mounted) spawnSync('umount', ['-l', mnt]);
    await rm(base, { recursive: true, force: true });
  });
  for (const [cmd, args] of [
    ['truncate', ['-s', '64M', img]],
    ['mkfs.ext4', ['-q', '-F', img]],
    ['mkdir', [mnt]],
    ['mount', ['-o', 'loop', img, mnt]],
  ] as const) {
    const r = run(cmd, [...args]);
    if (!r.ok) return `needs a loop-mounted ext4 image: ${r.why}`;
  }
  mounted = true;
  const probe = run('python3', ['-c', 'import fcntl, struct']);
  if (!probe.ok) return `needs python3 for the shutdown ioctl: ${probe.why}`;
  return {
    mnt,
    fail() {
      const r = run('python3', ['-c', SHUTDOWN_PY, mnt]);
      assert.ok(r.ok, r.why);
    },
    remount() {
      assert.ok(run('umount', [mnt]).ok, 'umount');
      const r = run('mount', ['-o', 'loop', img, mnt]);
      assert.ok(r.ok, r.why);
    },
  };
}

test('EIO on the journal: result() waiters fail with it, sends are refused with STORE_FAILED, the app stops by itself; nothing acknowledged is lost', async (t) => {
  const disk = await failingDisk(t);
  if (typeof disk === 'string') return t.skip(disk);
  const dir = join(disk.mnt, 'data');
  const logged: string[] = [];
  const app = await createCeleriac({
    dir,
    tasks: [fixture('poison')],
    concurrency: 1,
    logger: { info: () => {}, warn: () => {}, error: (m) => logged.push(m) },
  });
  t.after(() => app.close({ timeout: 1 }));
  await app.start();
  const done = await app.send('poison.ok', [0, 'done']);
  assert.equal(await done.result({ timeout: 30 }), 'done');
  const running = await app.send('poison.ok', [60_000, 'never']);
  const waiting = running.result(); // no timeout: before, it never settled
  const later = await app.send('poison.ok', [0, 'later'], { countdown: 3600 });

  disk.fail();
  const refused = await app.send('poison.ok', [0, 'refused']).then(
    () => assert.fail('a send was accepted by a failed disk'),
    (err: unknown) => err,
  );
  assert.ok(refused instanceof CeleriacError, String(refused));
  assert.equal(refused.code, 'STORE_FAILED', refused.message);
  assert.match(refused.message, /the data dir .*data failed: .*(EIO|input\/output error)/i);
  assert.match(refused.message, /No further jobs are accepted/);

  await within(
    assert.rejects(waiting, (err: CeleriacError) => err.code === 'STORE_FAILED'),
    'the waiter of the running job',
  );
  await within(
    assert.rejects(later.result(), (err: CeleriacError) => err.code === 'STORE_FAILED'),
    'the waiter of a waiting job',
  );
  const failure = await within(app.failed, 'app.failed');
  assert.equal(failure.code, 'STORE_FAILED');
  await assert.rejects(app.send('poison.ok', [0, 'after']), (err: CeleriacError) => err.code === 'STORE_FAILED');
  assert.ok(
    logged.some((m) => /STORE_FAILED|the data dir .* failed/.test(m)),
    logged.join('\n'),
  );

  // What was acknowledged before the failure is on disk (read as `celeriac show` reads:
  // the LOCK this process could not remove names it, so it cannot reopen the dir itself).
  disk.remount();
  const jobs = await readJobs(dir);
  assert.equal(jobs.get(done.id)?.state, 'succeeded');
  assert.equal(jobs.get(running.id)?.state, 'started', 'it was running: it runs again after a restart, flagged recovered');
  assert.equal(jobs.get(later.id)?.state, 'pending');
});

describe('celeriac worker on a failing disk', () => {
  before(() => ensureBuilt());

  // Starts, then waits for the go file: its outcome is written only after the disk failed.
  const WAIT_JS = `${importTask()}import { existsSync, writeFileSync } from 'node:fs';

export const wait = task('work.wait', async (marker, go) => {
  writeFileSync(marker, String(Date.now()));
  while (!existsSync(go)) await new Promise((resolve) => setTimeout(resolve, 10));
  return 'went';
});
`;

  test('EIO on the journal: the worker exits non-zero with the error', async (t) => {
    const disk = await failingDisk(t);
    if (typeof disk === 'string') return t.skip(disk);
    const cwd = await project(t, {
      'celeriac.config.json': JSON.stringify({ dir: join(disk.mnt, 'data'), tasks: ['tasks'], concurrency: 1 }),
      'tasks/wait.js': WAIT_JS,
    });
    const worker = await startWorker(t, cwd);
    const marker = join(cwd, 'started');
    const go = join(cwd, 'go');
    const sent = await celeriac(t, cwd, ['send', 'work.wait', JSON.stringify([marker, go])]);
    assert.equal(sent.code, 0, explain(sent));
    await waitFile(marker, 30_000);
    disk.fail();
    await writeFile(go, ''); // the job ends: its outcome is the next write
    const exit = await exitWithin(worker, 60_000);
    assert.equal(exit.code, 1, `exit ${exit.code}/${exit.signal}\n${worker.stdout()}\n${worker.stderr()}`);
    assert.match(worker.stderr(), /celeriac worker: the data dir .* failed: .*No further jobs are accepted/);
  });

  test('EIO on the journal under --burst: the worker exits non-zero, not 0 with a burst summary', async (t) => {
    const disk = await failingDisk(t);
    if (typeof disk === 'string') return t.skip(disk);
    const cwd = await project(t, {
      'celeriac.config.json': JSON.stringify({ dir: join(disk.mnt, 'data'), tasks: ['tasks'], concurrency: 1 }),
      'tasks/wait.js': WAIT_JS,
    });
    const marker = join(cwd, 'started');
    const go = join(cwd, 'go');
    const sent = await celeriac(t, cwd, ['send', 'work.wait', JSON.stringify([marker, go])]); // no worker yet: the inbox
    assert.equal(sent.code, 0, explain(sent));
    const worker = await startWorker(t, cwd, ['--burst']);
    await waitFile(marker, 30_000);
    disk.fail();
    await writeFile(go, '');
    const exit = await exitWithin(worker, 60_000);
    assert.equal(exit.code, 1, `exit ${exit.code}/${exit.signal}\n${worker.stdout()}\n${worker.stderr()}`);
    assert.match(worker.stderr(), /celeriac worker: the data dir .* failed: .*No further jobs are accepted/);
    assert.doesNotMatch(worker.stdout(), /burst: no job is due any more/);
  });
});
