// Who may open a data dir: its owner only, and only while no one else can write in it.
// Root is refused on another user's dir unless CELERIAC_ALLOW_ROOT=1; a send by root
// must not leave a root-owned dir behind that the app user's worker cannot open.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { chmod, chown, mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { createCeleriac, createClient, type CeleriacError } from '../src/index.js';
import { fixture, openApp, ROOT, tempDir } from './helpers.js';
import { needRoot, otherUser, reachableBy } from './users.js';
import { repairDataDir } from '../src/store/repair.js';
import { celeriac, ensureBuilt, explain, json } from './cli-helpers.js';

const unsafe = (pattern: RegExp) => (err: CeleriacError) => {
  assert.equal(err.code, 'DATA_DIR_UNSAFE', err.message);
  assert.match(err.message, pattern);
  return true;
};

function allowRoot(t: TestContext): void {
  process.env.CELERIAC_ALLOW_ROOT = '1';
  t.after(() => {
    delete process.env.CELERIAC_ALLOW_ROOT;
  });
}

test('a group- or world-writable data dir is refused with the fix, and nothing is written in it', async (t) => {
  for (const mode of [0o770, 0o707]) {
    const dir = join(await tempDir(t), 'data');
    await mkdir(dir);
    await chmod(dir, mode);
    const fix = new RegExp(`writable by its ${mode === 0o770 ? 'group' : 'world'}.*Fix: chmod 700 ${dir}`);
    await assert.rejects(createCeleriac({ dir, tasks: [fixture('basic')], logger: false }), unsafe(fix));
    await assert.rejects((await createClient({ dir })).send('demo.echo', ['x']), unsafe(fix));
    await assert.rejects(repairDataDir(dir), unsafe(fix));
    assert.deepEqual(await readdir(dir), [], 'nothing written');
    await chmod(dir, 0o700);
    await (await openApp(t, { dir })).close();
  }
});

test("root is refused on another user's data dir unless CELERIAC_ALLOW_ROOT=1", async (t) => {
  if (!needRoot(t, 'a dir owned by a second real uid')) return;
  const user = otherUser(t);
  const dir = join(await tempDir(t), 'data');
  await mkdir(dir, { mode: 0o700 });
  await chown(dir, user.uid, user.gid);
  const runAs = new RegExp(`belongs to uid ${user.uid} \\(${user.name}\\).*run celeriac as ${user.name}.*CELERIAC_ALLOW_ROOT=1`);
  await assert.rejects(createCeleriac({ dir, tasks: [fixture('basic')], logger: false }), unsafe(runAs));
  await assert.rejects((await createClient({ dir })).send('demo.echo', ['x']), unsafe(runAs));
  await assert.rejects(repairDataDir(dir), unsafe(runAs));
  assert.deepEqual(await readdir(dir), [], 'nothing written');
  allowRoot(t);
  const app = await openApp(t, { dir });
  assert.equal(await app.get('nothing'), undefined);
  assert.equal((await stat(join(dir, 'inbox'))).uid, user.uid, "the inbox root made is the dir's user's, for that user's worker");
});

test("a send by root before the first worker start leaves no root-owned dir: refused, or (forced) made for the dir's user", {
  timeout: 120_000,
}, async (t) => {
  if (!needRoot(t, 'a project dir owned by a second real uid')) return;
  const user = otherUser(t);
  if (!reachableBy(t, user.uid, user.gid)) return;
  const root = await tempDir(t);
  await chmod(root, 0o755);
  const project = join(root, 'project');
  await mkdir(project, { mode: 0o755 });
  await chown(project, user.uid, user.gid);
  const dir = join(project, '.celeriac');

  await assert.rejects(
    (await createClient({ dir })).send('demo.echo', ['x']),
    unsafe(new RegExp(`refusing to create data dir .* as root: ${project} belongs to uid ${user.uid} \\(${user.name}\\)`)),
  );
  await assert.rejects(stat(dir), /ENOENT/, 'no dir was created');

  allowRoot(t);
  const { id } = await (await createClient({ dir })).send('demo.echo', ['from root'], { id: 'from-root' });
  assert.equal(id, 'from-root');
  for (const p of [dir, join(dir, 'inbox')]) assert.equal((await stat(p)).uid, user.uid, `${p} belongs to ${user.name}`);
  // The user's own worker opens the dir and takes root's job.
  const script = `
    import { createCeleriac } from ${JSON.stringify(join(ROOT, 'src', 'index.ts'))};
    const app = await createCeleriac({ dir: ${JSON.stringify(dir)}, tasks: [${JSON.stringify(fixture('basic'))}], logger: false, concurrency: 1 });
    console.log(JSON.stringify((await app.get('from-root'))?.state ?? null));
    await app.close();`;
  const env = { ...process.env };
  delete env.CELERIAC_ALLOW_ROOT;
  const file = join(root, 'worker-as-user.mts');
  await writeFile(file, script, { mode: 0o644 });
  const res = spawnSync(process.execPath, ['--import', 'tsx', file], {
    uid: user.uid,
    gid: user.gid,
    cwd: ROOT,
    env: { ...env, HOME: root },
    encoding: 'utf8',
    timeout: 90_000,
  });
  assert.equal(res.status, 0, res.stderr);
  assert.equal(res.stdout.trim().split('\n').at(-1), '"pending"', `the user's worker took the job: ${res.stdout} ${res.stderr}`);
});

test('doctor reports a data dir others can write in, with the fix', { timeout: 120_000 }, async (t) => {
  ensureBuilt();
  const root = await tempDir(t);
  const dir = join(root, 'data');
  await mkdir(dir);
  await chmod(dir, 0o777);
  const r = await celeriac(t, root, ['doctor', '--dir', dir, '--json']);
  assert.equal(r.code, 1, explain(r));
  const checks = json<{ checks: { ok: boolean; what: string }[] }>(r).checks;
  assert.ok(
    checks.some((c) => !c.ok && /writable by its world \(mode 0777\).*chmod 700/.test(c.what)),
    explain(r),
  );
});
