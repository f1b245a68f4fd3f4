// Hot reload (watch: true): edits, in-flight jobs on the old generation, modules that
// fail to load, added and removed task files, and a clean close.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { pathToFileURL } from 'node:url';
import type { Celeriac, Logger } from '../src/index.js';
import { openApp, ROOT, tempDir, waitFor } from './helpers.js';

const INDEX = pathToFileURL(join(ROOT, 'src', 'index.ts')).href;
const WAIT = 20_000; // bounded waits (ms, for waitFor), generous for a loaded machine
const RESULT = { timeout: WAIT / 1000 }; // result() takes seconds
const TIMEOUT = { timeout: 90_000 };

/** A temp project: package.json with "type": "module" and a tasks/ directory holding `files`. */
async function project(
  t: TestContext,
  files: Record<string, string>,
): Promise<{ root: string; tasks: string; write: (name: string, source: string) => Promise<void> }> {
  const root = await tempDir(t, 'celeriac-watch-');
  const tasks = join(root, 'tasks');
  await mkdir(tasks);
  await writeFile(join(root, 'package.json'), '{ "type": "module" }\n');
  const write = (name: string, source: string) => writeFile(join(tasks, name), source);
  for (const [name, source] of Object.entries(files)) await write(name, source);
  return { root, tasks, write };
}

/** A task module whose task returns `value`. */
const versionModule = (name: string, value: unknown) =>
  `import { task } from '${INDEX}';\nexport const version = task('${name}', () => ${JSON.stringify(value)});\n`;

function capture(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return { lines, info: (m) => lines.push(`info: ${m}`), warn: (m) => lines.push(`warn: ${m}`), error: (m) => lines.push(`error: ${m}`) };
}

/** Send jobs until one returns `expected`. */
function untilResult(app: Celeriac, task: string, expected: unknown, args: unknown[] = []): Promise<unknown> {
  return waitFor(
    async () => (await (await app.send(task, args)).result(RESULT)) === expected,
    WAIT,
    `${task} to return ${JSON.stringify(expected)}`,
  );
}

interface PoolInternals {
  workers: { state: string; exited: boolean }[];
}
const poolOf = (app: Celeriac) => (app as unknown as { pool: PoolInternals }).pool;

test('an edited task module runs its new code', TIMEOUT, async (t) => {
  const p = await project(t, { 'version.ts': versionModule('w.version', 1) });
  const log = capture();
  const app = await openApp(t, { tasks: [p.tasks], watch: true, logger: log, concurrency: 1 });
  await app.start();
  assert.equal(await (await app.send('w.version', [])).result(), 1);
  await p.write('version.ts', versionModule('w.version', 2));
  await untilResult(app, 'w.version', 2);
  assert.ok(
    log.lines.some((l) => /^info: reloaded the task modules in \d+ ms/.test(l)),
    log.lines.join('\n'),
  );
  // Saves in quick succession (a formatter rewriting the file just after the editor saved
  // it): the last one wins.
  for (let v = 3; v <= 6; v++) await p.write('version.ts', versionModule('w.version', v));
  await untilResult(app, 'w.version', 6);
  assert.equal(await (await app.send('w.version', [])).result(), 6);
  assert.ok(!log.lines.some((l) => l.startsWith('error:') || l.includes('lost')), log.lines.join('\n'));
});

test('a job running when the module changes finishes on the old code; a new job runs the new code', TIMEOUT, async (t) => {
  // w.slow marks that it began, then waits for a release file: it is surely running on
  // the old generation while the new one takes over.
  const slow = (label: string) => `import { existsSync, writeFileSync } from 'node:fs';
import { task } from '${INDEX}';
export const slow = task('w.slow', async (began: string, release: string) => {
  writeFileSync(began, '');
  const until = Date.now() + 60_000;
  while (!existsSync(release) && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
  return '${label}';
});
export const version = task('w.version', () => '${label}');
`;
  const p = await project(t, { 'tasks.ts': slow('old') });
  const log = capture();
  const app = await openApp(t, { tasks: [p.tasks], watch: true, logger: log, concurrency: 1 });
  await app.start();
  const began = join(p.root, 'began');
  const release = join(p.root, 'release');
  const running = await app.send<string>('w.slow', [began, release]);
  await waitFor(() => existsSync(began), WAIT, 'the slow job to begin');
  // Prefetched into the busy old worker behind w.slow (prefetch 4): not begun, so it is
  // given back at the switch and runs on the new code.
  const prefetched = await app.send<string>('w.version', []);

  await p.write('tasks.ts', slow('new'));
  assert.equal(await prefetched.result(RESULT), 'new');
  assert.equal((await app.get(prefetched.id))?.attempts, 1, 'giving a job back does not count an attempt');
  await untilResult(app, 'w.version', 'new');
  assert.equal((await app.get(running.id))?.state, 'started', 'the old job is still running on the old generation');
  const pool = poolOf(app);
  assert.ok(
    pool.workers.some((w) => w.state === 'retired'),
    'the old worker is retired, not terminated, while its job runs',
  );

  await writeFile(release, '');
  assert.equal(await running.result(RESULT), 'old');
  assert.equal((await app.get(running.id))?.attempts, 1, 'the running job was neither interrupted nor run again');
  // Once its job is done the old worker is terminated, and not replaced as if it were lost.
  await waitFor(() => !pool.workers.some((w) => w.state === 'retired'), WAIT, 'the retired worker to stop');
  assert.equal(pool.workers.filter((w) => w.state === 'active').length, 1);
  assert.equal(await (await app.send('w.slow', [began, release])).result(RESULT), 'new');
  assert.ok(!log.lines.some((l) => l.includes('lost') || l.startsWith('error:')), log.lines.join('\n'));
});

test('a module that fails to load keeps the old generation serving and the error names file:line', TIMEOUT, async (t) => {
  const p = await project(t, { 'version.ts': versionModule('w.version', 'good') });
  const log = capture();
  const app = await openApp(t, { tasks: [p.tasks], watch: true, logger: log, concurrency: 1 });
  await app.start();
  const file = join(p.tasks, 'version.ts');
  await p.write('version.ts', `import { task } from '${INDEX}';\nexport const version = task('w.version', () => {\n  return 1 +;\n});\n`);
  const logged = await waitFor(
    () => log.lines.find((l) => l.startsWith('error:') && l.includes('failed to import')),
    WAIT,
    'the import error to be logged',
  );
  assert.ok(logged.includes(`${file}:3`), logged);
  assert.ok(
    log.lines.some((l) => l.startsWith('error:') && l.includes('the previous code keeps running')),
    log.lines.join('\n'),
  );
  // The old code still serves, and the task is still known.
  assert.equal(await (await app.send('w.version', [])).result(RESULT), 'good');
  assert.ok(app.tasks.some((task) => task.name === 'w.version'));
  // Saving a fix reloads.
  await p.write('version.ts', versionModule('w.version', 'fixed'));
  await untilResult(app, 'w.version', 'fixed');
  // A duplicate task name is refused the same way, naming both places.
  await p.write('dup.ts', versionModule('w.version', 'dup'));
  const duplicate = await waitFor(
    () => log.lines.find((l) => l.startsWith('error:') && l.includes('defined twice')),
    WAIT,
    'the duplicate to be logged',
  );
  assert.ok(duplicate.includes(`${file}:2`) && duplicate.includes(`${join(p.tasks, 'dup.ts')}:2`), duplicate);
  assert.equal(await (await app.send('w.version', [])).result(RESULT), 'fixed');
  assert.ok(!log.lines.some((l) => l.includes('lost')), log.lines.join('\n'));
});

test('an added task file becomes sendable; a deleted one disappears, and its queued jobs fail clearly', TIMEOUT, async (t) => {
  const blocker = `import { existsSync } from 'node:fs';
import { task } from '${INDEX}';
export const block = task('w.block', async (release: string) => {
  const until = Date.now() + 60_000;
  while (!existsSync(release) && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
  return 'released';
});
`;
  const p = await project(t, { 'a.ts': versionModule('w.a', 'a'), 'block.ts': blocker });
  const log = capture();
  const app = await openApp(t, { tasks: [p.tasks], watch: true, logger: log, concurrency: 1, prefetch: 1 });
  await app.start();
  await assert.rejects(app.send('w.b', []), { code: 'UNKNOWN_TASK' });

  await p.write('b.ts', versionModule('w.b', 'b'));
  await waitFor(() => app.tasks.some((task) => task.name === 'w.b'), WAIT, 'w.b to be registered');
  assert.equal(await (await app.send('w.b', [])).result(RESULT), 'b');
  assert.ok(
    log.lines.some((l) => l.includes('added w.b')),
    log.lines.join('\n'),
  );

  // Occupy the only slot, queue a w.a job behind it, then delete w.a's module.
  const release = join(p.root, 'release');
  const blocking = await app.send('w.block', [release]);
  const orphan = await app.send('w.a', []);
  await rm(join(p.tasks, 'a.ts'));
  await waitFor(() => !app.tasks.some((task) => task.name === 'w.a'), WAIT, 'w.a to disappear');
  assert.ok(
    log.lines.some((l) => l.includes('removed w.a')),
    log.lines.join('\n'),
  );
  await assert.rejects(app.send('w.a', []), { code: 'UNKNOWN_TASK' });
  assert.equal((await app.get(orphan.id))?.state, 'pending', 'the queued job is kept, not dropped');
  await writeFile(release, '');
  assert.equal(await blocking.result(RESULT), 'released');
  await assert.rejects(orphan.result(RESULT), (err: Error & { remote?: { message: string } }) => {
    assert.match(err.remote?.message ?? err.message, /task "w\.a" is not registered/);
    return true;
  });
  assert.equal((await app.get(orphan.id))?.state, 'failed');
  assert.equal(await (await app.send('w.b', [])).result(RESULT), 'b');
});

test('watch must be a boolean', async (t) => {
  const dir = join(await tempDir(t), 'data');
  await assert.rejects(openApp(t, { dir, watch: 'yes' as unknown as boolean }), { code: 'INVALID_CONFIG' });
});

test('close() with a watcher (even during a reload) leaves nothing running: the process exits', TIMEOUT, async (t) => {
  const p = await project(t, { 'version.ts': versionModule('w.version', 1) });
  const script = join(p.root, 'main.mjs');
  await writeFile(
    script,
    `import { writeFile } from 'node:fs/promises';
import { createCeleriac } from '${INDEX}';
const file = ${JSON.stringify(join(p.tasks, 'version.ts'))};
const source = (v) => \`import { task } from '${INDEX}';\\nexport const version = task('w.version', () => \${v});\\n\`;
const app = await createCeleriac({ dir: ${JSON.stringify(join(p.root, 'data'))}, tasks: [${JSON.stringify(p.tasks)}], watch: true, logger: false, concurrency: 1 });
await app.start();
await writeFile(file, source(2));
const until = Date.now() + 20000;
while ((await (await app.send('w.version', [])).result()) !== 2) if (Date.now() > until) throw new Error('no reload');
await writeFile(file, source(3));
await new Promise((r) => setTimeout(r, 30)); // a reload is under way
await app.close();
console.log('closed');
`,
  );
  const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const timer = setTimeout(() => child.kill('SIGKILL'), 45_000);
  const code = await exited;
  clearTimeout(timer);
  assert.equal(code, 0, `the process did not exit by itself after close() (killed after 45 s, or failed):\n${output}`);
  assert.match(output, /closed/);
});
