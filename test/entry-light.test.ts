// Importing the package (what every task module does in every worker thread) loads only
// what a task uses; the host's machinery (app, store, pool, client, file watching) loads
// when createCeleriac() or createClient() is first called. The data dir's admin functions
// are on their own subpath, `celeriac/admin`, imported here by the package's name.
// Seen in a fresh process of the built package, with a resolve hook listing every module.
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { mkdir, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { DIST_INDEX, ensureBuilt, project, RESOLVE_LOG_HOOK, withBundledModules } from './cli-helpers.js';
import { ROOT } from './helpers.js';

const run = promisify(execFile);

const MAIN = `import { register } from 'node:module';
import { readFileSync } from 'node:fs';
const [log, dir] = process.argv.slice(2);
register(new URL('./hook.mjs', import.meta.url), { data: { log } });
const loaded = () => readFileSync(log, 'utf8').split('\\n').filter(Boolean);
const celeriac = await import(${JSON.stringify(DIST_INDEX)});
const afterImport = loaded();
const app = await celeriac.createCeleriac({ dir, logger: false });
await app.close();
const afterCreate = loaded();
const admin = await import('celeriac/admin');
const report = await admin.repairDataDir(dir);
const jobs = await admin.readJobs(dir);
process.stdout.write(JSON.stringify({
  afterImport,
  afterCreate,
  afterAdmin: loaded(),
  exports: Object.keys(celeriac).sort(),
  adminExports: Object.keys(admin).sort(),
  repairClean: report.clean,
  jobs: jobs.size,
}));
`;

const HOST_ONLY =
  /\/dist\/(?:app|admin|client|read-jobs|watch|inbox)\.js$|\/dist\/(?:store|scheduler|registry)\/|\/dist\/pool\/pool\.js$|node_modules\/(?:chokidar|lowdb|p-queue|p-retry)\//;

test('importing celeriac loads none of the host machinery until an app or client is made', { timeout: 240_000 }, async (t) => {
  ensureBuilt();
  const dir = await project(t, { 'main.mjs': MAIN, 'hook.mjs': RESOLVE_LOG_HOOK });
  // Installed as users install it: the subpath resolves through package.json's "exports".
  await mkdir(join(dir, 'node_modules'));
  await symlink(ROOT, join(dir, 'node_modules', 'celeriac'), 'dir');
  const { stdout } = await run(process.execPath, [join(dir, 'main.mjs'), join(dir, 'loaded.log'), join(dir, 'data')], {
    cwd: dir,
    timeout: 120_000,
  });
  const seen = JSON.parse(stdout) as {
    afterImport: string[];
    afterCreate: string[];
    afterAdmin: string[];
    exports: string[];
    adminExports: string[];
    repairClean: boolean;
    jobs: number;
  };
  // The modules that loaded, whether as files of their own or bundled into others.
  for (const k of ['afterImport', 'afterCreate', 'afterAdmin'] as const) seen[k] = withBundledModules(seen[k]);
  assert.ok(
    seen.afterImport.some((u) => u.endsWith('/dist/task.js')),
    `the import itself was seen by the hook: ${seen.afterImport.join(', ')}`,
  );
  assert.deepEqual(
    seen.afterImport.filter((u) => HOST_ONLY.test(u)),
    [],
    'host-only modules loaded by the import alone',
  );
  assert.ok(
    seen.afterCreate.some((u) => u.endsWith('/dist/app.js')),
    'createCeleriac() loads the app',
  );
  assert.deepEqual(
    seen.afterCreate.filter((u) => /\/dist\/(?:watch|app\/reload)\.js$|node_modules\/chokidar\//.test(u)),
    [],
    'an app that does not watch loads no file watching',
  );
  assert.ok(
    seen.afterAdmin.slice(seen.afterCreate.length).some((u) => u.endsWith('/dist/admin.js')),
    `'celeriac/admin' resolves to dist/admin.js: ${seen.afterAdmin.slice(seen.afterCreate.length).join(', ')}`,
  );
  assert.deepEqual(seen.adminExports, ['readJobs', 'repairDataDir'], 'celeriac/admin exports the admin functions');
  assert.equal(seen.repairClean, true, "repairDataDir() through 'celeriac/admin' ran on the app's data dir");
  assert.equal(seen.jobs, 0, "readJobs() through 'celeriac/admin' read the app's data dir");
  for (const name of ['readJobs', 'repairDataDir'])
    assert.ok(!seen.exports.includes(name), `${name} moved to 'celeriac/admin', off the main entry`);
  // The value exports users import by name are all still there.
  for (const name of [
    'createCeleriac',
    'createClient',
    'task',
    'context',
    'RetryRequest',
    'CeleriacError',
    'TaskFailedError',
    'defineConfig',
    'JOB_STATES',
    'EVENT_TYPES',
  ]) {
    assert.ok(seen.exports.includes(name), `celeriac exports ${name}`);
  }
});
