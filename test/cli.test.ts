// The `celeriac` command as users run it: the built bin (dist/cli/main.js) spawned in a
// temp project with its own package.json, task modules, a plugin in node_modules and a
// config file. Doctor's checks: cli-doctor.test.ts; SIGTERM/SIGINT: cli-signals.test.ts.
import { strict as assert } from 'node:assert';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import {
  celeriac,
  DIST_INDEX,
  ensureBuilt,
  exitWithin,
  explain,
  importTask,
  inParallel,
  json,
  pluginFiles,
  project,
  startWorker,
  VERSION,
  waitJob,
} from './cli-helpers.js';

const COMMANDS = ['worker', 'send', 'list', 'show', 'cancel', 'clear', 'tasks', 'doctor', 'test'];

const BASIC_JS = `${importTask('context, task')}export const echo = task('demo.echo', (message) => message);
export const inspect = task('args.inspect', (...args) => args);
export const sleep = task('demo.sleep', (ms) => new Promise((resolve, reject) => { const signal = context().signal; const timer = setTimeout(() => resolve(ms), ms); signal.addEventListener('abort', () => { clearTimeout(timer); reject(new Error('aborted')); }); }));
`;

const REPORT_TS = `${importTask()}export const build = task('report.build', (n: number): { n: number; lang: 'ts' } => ({ n, lang: 'ts' }));
`;

const HELLO_PLUGIN = pluginFiles(
  'celeriac-plugin-hello',
  `${importTask()}export const greet = task('hello.greet', (name) => \`hello \${name}\`);\n`,
);

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

before(() => ensureBuilt());

describe('celeriac CLI', { concurrency: 3 }, () => {
  test('--help on every command exits 0 with its usage; bad usage exits 2', async (t) => {
    const cwd = await project(t, {});
    const helps = await inParallel(
      6,
      [['--help'], ['help'], ...COMMANDS.map((c) => [c, '--help']), ['show', '-h']].map((args) => () => celeriac(t, cwd, args)),
    );
    for (const r of helps.slice(0, 2)) {
      assert.equal(r.code, 0, explain(r));
      assert.match(r.stdout, /Usage: celeriac <command> \[options\]/);
      for (const c of COMMANDS) assert.match(r.stdout, new RegExp(`^  ${c} +\\S`, 'm'), `main help lists ${c}`);
      assert.match(
        r.stdout,
        /Exit codes: 0 ok, 1 error, 2 usage error, 3 no such job, 4 test job failed or timed out, 5 job not cancelled/,
      );
    }
    for (const [i, c] of [...COMMANDS, 'show'].entries()) {
      const r = helps[i + 2]!;
      assert.equal(r.code, 0, explain(r, `${c} --help`));
      assert.match(r.stdout, new RegExp(`^Usage: celeriac ${c}\\b`, 'm'), explain(r, `${c} --help shows its usage`));
      assert.match(r.stdout, /--config PATH/, `${c} --help lists the common options`);
      assert.match(r.stdout, /Exit codes:/);
      assert.equal(r.stderr, '');
    }
    assert.match(
      helps[2]!.stdout,
      /--burst[\s\S]*--concurrency N[\s\S]*SIGTERM or SIGINT: warm shutdown[\s\S]*second SIGINT: cold shutdown/,
      'worker --help documents the flags and signals',
    );
    assert.match(helps[3]!.stdout, /ARGS_JSON is the JSON array of arguments/);

    const usage: [string[], RegExp][] = [
      [['list', '--bogus'], /Unknown option '--bogus'/],
      [['worker', '--no-such-flag'], /Unknown option '--no-such-flag'/],
      [['send', 'demo.echo', '[]', '--bogus', 'x'], /Unknown option '--bogus'/],
      [['frobnicate'], /unknown command "frobnicate"/],
      [[], /Usage: celeriac <command>/],
      [['show'], /show needs a job id/],
      [['show', 'a', 'b'], /unexpected argument "b"/],
      [['list', '--state', 'bogus'], /--state must be one of pending, reserved, started, retrying, succeeded, failed, cancelled, expired/],
      [['list', '--limit', '0'], /--limit must be an integer/],
      [['send', 'demo.echo', '[not json'], /ARGS_JSON is not valid JSON/],
      [
        ['send', 'demo.echo', '[]', '--countdown', 'soon'],
        /--countdown must be seconds \(a number\) or a duration like "500ms".*got "soon"/,
      ],
      [['test', '--timeout', 'abc'], /--timeout must be seconds \(a number\) or a duration like "500ms".*got "abc"/],
      [['worker', '--concurrency', '0'], /--concurrency must be an integer ≥ 1, got "0"/],
    ];
    const runs = await inParallel(
      6,
      usage.map(
        ([args]) =>
          () =>
            celeriac(t, cwd, args),
      ),
    );
    for (const [i, [args, re]] of usage.entries()) {
      const r = runs[i]!;
      assert.equal(r.code, 2, explain(r, `celeriac ${args.join(' ')} is a usage error`));
      assert.match(r.stdout + r.stderr, re, explain(r, `celeriac ${args.join(' ')}`));
    }
    const v = await celeriac(t, cwd, ['--version']);
    assert.equal(v.code, 0);
    assert.equal(v.stdout.trim(), VERSION);
  });

  test('config errors exit 2 and name the file and the key', async (t) => {
    const cases: { files: Record<string, string>; args?: string[]; expect: RegExp }[] = [
      {
        files: { 'celeriac.config.json': JSON.stringify({ tasks: './tasks', concurency: 2 }) },
        expect: /celeriac\.config\.json: unknown key "concurency" \(known keys: dir, broker, queue, tasks, plugins, concurrency/,
      },
      {
        files: { 'celeriac.config.json': JSON.stringify({ tasks: './tasks', concurrency: '2' }) },
        expect: /celeriac\.config\.json: "concurrency" must be an integer ≥ 1, got "2"/,
      },
      {
        files: {
          'celeriac.config.ts': `import { defineConfig } from ${JSON.stringify(DIST_INDEX)};\nexport default defineConfig({ tasks: './tasks', plugins: 'celeriac-plugin-hello' as unknown as string[] });\n`,
        },
        expect: /celeriac\.config\.ts: "plugins" must be a list of strings, got "celeriac-plugin-hello"/,
      },
      {
        files: { 'celeriac.config.mjs': `export default { tasks: './tasks', shutdownTimeout: true };\n` },
        expect: /celeriac\.config\.mjs: "shutdownTimeout" must be seconds/,
      },
      {
        files: { 'celeriac.config.js': `export default { tasks: './tasks', watch: 'yes' };\n` },
        expect: /celeriac\.config\.js: "watch" must be true or false, got "yes"/,
      },
      {
        files: { 'elsewhere/my.json': JSON.stringify({ dir: 3 }) },
        args: ['--config', 'elsewhere/my.json'],
        expect: /elsewhere\/my\.json: "dir" must be a non-empty string, got 3/,
      },
      { files: {}, args: ['--config', 'missing.config.json'], expect: /config file .*missing\.config\.json does not exist/ },
      { files: { 'celeriac.config.json': '{ "tasks": ' }, expect: /config file .*celeriac\.config\.json could not be loaded/ },
    ];
    const dirs = await Promise.all(cases.map((c) => project(t, c.files)));
    const runs = await inParallel(
      4,
      cases.map((c, i) => () => celeriac(t, dirs[i]!, ['list', ...(c.args ?? [])])),
    );
    for (const [i, c] of cases.entries()) {
      const r = runs[i]!;
      assert.equal(r.code, 2, explain(r, `case ${i}`));
      assert.match(r.stderr, c.expect, explain(r, `case ${i}`));
    }
  });

  test('a celeriac.config.ts loads in a package without "type": "module" too', async (t) => {
    // tsx compiles it to CommonJS there; its default export must still be the config.
    const cwd = await project(
      t,
      {
        'celeriac.config.ts': `import { defineConfig } from ${JSON.stringify(DIST_INDEX)};\nexport default defineConfig({ dir: './from-config' });\n`,
      },
      { name: 'cjs-project', private: true },
    );
    const r = await celeriac(t, cwd, ['list']);
    assert.equal(r.code, 0, explain(r));
    assert.match(r.stdout, new RegExp(`no jobs in ${escape(join(cwd, 'from-config'))}`));
  });

  test('worker --burst: banner with every task (module file, plugin), runs what is due, exits 0; send before any worker is durable', async (t) => {
    const cwd = await project(t, {
      'celeriac.config.ts': `import { defineConfig } from ${JSON.stringify(DIST_INDEX)};

export default defineConfig({
  dir: './data',
  tasks: ['./tasks'],
  plugins: ['celeriac-plugin-hello'],
  concurrency: 1,
  prefetch: 1,
});
`,
      'tasks/basic.js': BASIC_JS,
      'tasks/nested/report.ts': REPORT_TS,
      ...HELLO_PLUGIN,
    });
    const data = join(cwd, 'data');

    // No worker runs: each send is on record (in the inbox) when the command returns.
    const sends: [string, string[]][] = [
      ['arr', ['args.inspect', '["Hello World"]']],
      ['single', ['args.inspect', '{"a":1}']],
      ['nested', ['args.inspect', '[1,[2,3],"x"]']],
      ['str', ['args.inspect', '"just a string"']],
      ['none', ['args.inspect']],
      ['plug', ['hello.greet', '"plugin"']],
      ['ts', ['report.build', '[7]']],
      ['later', ['demo.echo', '["later"]', '--countdown', '3600']],
    ];
    const sent = await inParallel(
      4,
      sends.map(
        ([id, args]) =>
          () =>
            celeriac(t, cwd, ['send', ...args, '--id', id]),
      ),
    );
    for (const [i, r] of sent.entries()) {
      assert.equal(r.code, 0, explain(r, `send ${sends[i]![0]}`));
      assert.equal(r.stdout, `${sends[i]![0]}\n`, 'send prints the job id alone on stdout');
      assert.match(r.stderr, /no worker is running: it runs when one starts/);
    }
    const j = await celeriac(t, cwd, [
      'send',
      'demo.echo',
      '["json"]',
      '--json',
      '--eta',
      new Date(Date.now() + 7_200_000).toISOString(),
      '--expires',
      '86400',
    ]);
    assert.equal(j.code, 0, explain(j));
    const jsonSend = json<{ id: string; task: string; worker: number | null }>(j);
    assert.equal(jsonSend.task, 'demo.echo');
    assert.equal(jsonSend.worker, null);
    assert.match(jsonSend.id, /^[0-9a-f-]{36}$/);
    const inboxFiles = (await readdir(join(data, 'inbox'))).filter((f) => f.endsWith('.json'));
    assert.equal(inboxFiles.length, sends.length + 1, 'every send is a file in the inbox, on disk');

    const unknown = await celeriac(t, cwd, ['send', 'demo.ech', '["x"]']);
    assert.equal(unknown.code, 1, explain(unknown));
    assert.match(unknown.stderr, /unknown task "demo.ech": did you mean "demo.echo"\?/);

    const [show, list, table] = await Promise.all([
      celeriac(t, cwd, ['show', 'single', '--json']),
      celeriac(t, cwd, ['list', '--json']),
      celeriac(t, cwd, ['list']),
    ]);
    assert.equal(show.code, 0, explain(show));
    assert.deepEqual(json(show).args, [{ a: 1 }], 'a JSON value that is not an array is the single argument');
    assert.equal(json(show).state, 'pending');
    assert.equal(list.code, 0, explain(list));
    assert.equal(json<unknown[]>(list).length, sends.length + 1);
    assert.ok(json<{ state: string }[]>(list).every((x) => x.state === 'pending'));
    assert.match(table.stdout, /^ID +TASK +QUEUE +STATE +ATTEMPTS +CREATED +RUN AT +PROGRESS$/m, explain(table));
    assert.match(table.stdout, /^later +demo\.echo +default +pending +0 +\S+ ago +in (?:1h|\d+m)$/m, explain(table)); // minutes: a loaded machine may take one to get here

    const w = await celeriac(t, cwd, ['worker', '--burst', '--concurrency', '2'], { timeoutMs: 90_000 });
    assert.equal(w.code, 0, explain(w));
    t.diagnostic(`worker --burst took ${w.ms} ms`);
    assert.match(w.stdout, new RegExp(`celeriac@${escape(VERSION)} worker \\(pid \\d+\\)`));
    assert.match(w.stdout, new RegExp(`--- config: +${escape(join(cwd, 'celeriac.config.ts'))}$`, 'm'));
    assert.match(w.stdout, new RegExp(`--- data dir: +${escape(data)}$`, 'm'));
    assert.match(w.stdout, /--- pool: +2 worker thread\(s\)$/m, '--concurrency overrides the config');
    assert.match(w.stdout, /--- jobs: +9 pending, 0 retrying, 0 finished$/m);
    const taskLine = (name: string, file: string, line: number, plugin?: string) =>
      new RegExp(`^  \\. ${escape(name)} +${escape(file)}:${line}${plugin ? ` +\\(plugin ${escape(plugin)}\\)` : ''}$`, 'm');
    assert.match(w.stdout, taskLine('demo.echo', join(cwd, 'tasks/basic.js'), 2), explain(w));
    assert.match(w.stdout, taskLine('args.inspect', join(cwd, 'tasks/basic.js'), 3));
    assert.match(w.stdout, taskLine('demo.sleep', join(cwd, 'tasks/basic.js'), 4));
    assert.match(w.stdout, taskLine('report.build', join(cwd, 'tasks/nested/report.ts'), 2));
    assert.match(w.stdout, taskLine('hello.greet', join(cwd, 'node_modules/celeriac-plugin-hello/tasks.js'), 2, 'celeriac-plugin-hello'));
    assert.match(w.stdout, /^ {2}\. celeriac\.test +\S+:\d+$/m, 'the built-in test task is listed');
    assert.match(
      w.stdout,
      /burst: no job is due any more; ran 7 job\(s\): 7 succeeded, 0 failed, 0 retried \(scheduled again\); exiting/,
      explain(w),
    );

    // Stopped again: every due job ran; the delayed ones wait.
    const ids = ['arr', 'single', 'nested', 'str', 'none', 'plug', 'ts', 'later', jsonSend.id];
    const shown = await inParallel(
      4,
      ids.map((id) => () => celeriac(t, cwd, ['show', id, '--json'])),
    );
    const byId = Object.fromEntries(
      shown.map((r, i) => {
        assert.equal(r.code, 0, explain(r));
        return [ids[i]!, json(r)];
      }),
    );
    assert.deepEqual(byId.arr.result, ['Hello World'], 'ARGS_JSON array: its items are the arguments');
    assert.deepEqual(byId.single.result, [{ a: 1 }]);
    assert.deepEqual(byId.nested.result, [1, [2, 3], 'x']);
    assert.deepEqual(byId.str.result, ['just a string']);
    assert.deepEqual(byId.none.result, [], 'no ARGS_JSON: no arguments');
    assert.equal(byId.plug.result, 'hello plugin');
    assert.deepEqual(byId.ts.result, { n: 7, lang: 'ts' });
    for (const id of ['arr', 'plug', 'ts']) {
      assert.equal(byId[id].state, 'succeeded');
      assert.equal(byId[id].attempts, 1);
    }
    assert.equal(byId.later.state, 'pending');
    assert.ok(Math.abs(Date.parse(byId.later.runAt) - Date.now() - 3_600_000) < 120_000, `runAt ${byId.later.runAt} is an hour ahead`);
    assert.equal(byId[jsonSend.id].state, 'pending');
    assert.ok(byId[jsonSend.id].expiresAt, '--expires is on record');

    const [human, pending, tasks, tasksJson] = await Promise.all([
      celeriac(t, cwd, ['show', 'arr']),
      celeriac(t, cwd, ['list', '--state', 'pending', '--json']),
      celeriac(t, cwd, ['tasks']),
      celeriac(t, cwd, ['tasks', '--json']),
    ]);
    assert.match(human.stdout, /^state +succeeded$/m, explain(human));
    assert.match(human.stdout, /^args +\["Hello World"\]$/m);
    assert.match(human.stdout, /^result +\["Hello World"\]$/m);
    assert.deepEqual(
      json<{ id: string }[]>(pending)
        .map((x) => x.id)
        .sort(),
      ['later', jsonSend.id].sort(),
    );
    assert.equal(tasks.code, 0, explain(tasks));
    assert.match(tasks.stdout, /^TASK +MODULE +PLUGIN$/m);
    assert.match(
      tasks.stdout,
      new RegExp(`^hello\\.greet +${escape(join(cwd, 'node_modules/celeriac-plugin-hello/tasks.js'))}:2 +celeriac-plugin-hello$`, 'm'),
      explain(tasks),
    );
    assert.match(tasks.stdout, new RegExp(`^report\\.build +${escape(join(cwd, 'tasks/nested/report.ts'))}:2$`, 'm'));
    const listed = json<{ tasks: { name: string; plugin?: string }[] }>(tasksJson).tasks;
    assert.deepEqual(listed.map((x) => x.name).sort(), [
      'args.inspect',
      'celeriac.test',
      'demo.echo',
      'demo.sleep',
      'hello.greet',
      'report.build',
    ]);
    assert.equal(listed.find((x) => x.name === 'hello.greet')?.plugin, 'celeriac-plugin-hello');
  });

  test('with a worker running (.json config): send is picked up, list/show/cancel/clear/test work; and again once it stopped', async (t) => {
    const cwd = await project(t, {
      'celeriac.config.json': JSON.stringify({ dir: 'data', tasks: ['tasks'], concurrency: 2, prefetch: 1, shutdownTimeout: 20 }, null, 2),
      'tasks/basic.js': BASIC_JS,
    });
    const data = join(cwd, 'data');
    const worker = await startWorker(t, cwd);
    assert.match(worker.stdout(), /--- config: +.*celeriac\.config\.json$/m);
    assert.match(worker.stdout(), /--- pool: +2 worker thread\(s\)$/m);

    // A send while the worker runs: durable when the command returns, picked up at once.
    const s = await celeriac(t, cwd, ['send', 'demo.echo', '["Hello World"]', '--id', 'live', '--json']);
    const returned = Date.now();
    assert.equal(s.code, 0, explain(s));
    assert.equal(json(s).worker, worker.pid, 'send names the running worker');
    const done = await waitJob(data, 'live', (j) => j.state === 'succeeded');
    t.diagnostic(
      `pickup: job started ${done.startedAt! - done.createdAt} ms after the client created it; finished ${Date.now() - returned} ms (or less: polling) after \`send\` exited; send took ${s.ms} ms`,
    );

    const [show, showTable, list, listTable] = await Promise.all([
      celeriac(t, cwd, ['show', 'live', '--json']),
      celeriac(t, cwd, ['show', 'live']),
      celeriac(t, cwd, ['list', '--json']),
      celeriac(t, cwd, ['list']),
    ]);
    assert.equal(show.code, 0, explain(show));
    assert.equal(json(show).state, 'succeeded');
    assert.equal(json(show).result, 'Hello World');
    assert.match(showTable.stdout, /^result +"Hello World"$/m, explain(showTable));
    assert.match(showTable.stdout, /^finished +\d{4}-/m);
    assert.deepEqual(
      json<{ id: string }[]>(list).map((x) => x.id),
      ['live'],
    );
    assert.match(listTable.stdout, /^live +demo\.echo +default +succeeded +1 +\S+ ago$/m, explain(listTable));
    const started = await celeriac(t, cwd, ['send', 'demo.sleep', '[60000]', '--id', 'running']);
    assert.equal(started.code, 0, explain(started));
    await waitJob(data, 'running', (j) => j.state === 'started');

    // cancel: 0 cancelled (waiting and running), 3 no such job, 5 already finished.
    const w1 = await celeriac(t, cwd, ['send', 'demo.echo', '["never"]', '--id', 'waiting', '--countdown', '3600']);
    assert.equal(w1.code, 0, explain(w1));
    const [c0, c0run, c3, c5, show3] = await Promise.all([
      celeriac(t, cwd, ['cancel', 'waiting']),
      celeriac(t, cwd, ['cancel', 'running', '--json']),
      celeriac(t, cwd, ['cancel', 'no-such-job']),
      celeriac(t, cwd, ['cancel', 'live']),
      celeriac(t, cwd, ['show', 'no-such-job']),
    ]);
    assert.equal(c0.code, 0, explain(c0));
    assert.match(c0.stdout, /^cancelled waiting$/m);
    assert.equal(c0run.code, 0, explain(c0run));
    assert.deepEqual(json(c0run), { id: 'running', cancelled: true, state: 'cancelled' });
    assert.equal(c3.code, 3, explain(c3));
    assert.match(c3.stderr, /no job no-such-job/);
    assert.equal(c5.code, 5, explain(c5));
    assert.match(c5.stderr, /job live already succeeded: nothing to cancel/);
    assert.equal(show3.code, 3, explain(show3));
    assert.match(show3.stderr, /no job no-such-job in /);

    // test: a job through the running worker.
    const tst = await celeriac(t, cwd, ['test', '--timeout', '30', '--json']);
    assert.equal(tst.code, 0, explain(tst));
    assert.equal(json(tst).ok, true);
    assert.equal(json(tst).result.pid, worker.pid, 'the worker process ran it');

    // clear: cancels every waiting job; with --state succeeded, drops the finished ones.
    await Promise.all(['c1', 'c2'].map((id) => celeriac(t, cwd, ['send', 'demo.echo', `["${id}"]`, '--id', id, '--countdown', '600'])));
    const cleared = await celeriac(t, cwd, ['clear', '--json']);
    assert.equal(cleared.code, 0, explain(cleared));
    assert.deepEqual(json(cleared), { cancelled: 2, dropped: 0 });
    const dropped = await celeriac(t, cwd, ['clear', '--state', 'succeeded']);
    assert.equal(dropped.code, 0, explain(dropped));
    assert.match(dropped.stdout, /cancelled 0 waiting job\(s\); dropped 2 finished job\(s\)/, explain(dropped));
    const [c1, gone] = await Promise.all([celeriac(t, cwd, ['show', 'c1', '--json']), celeriac(t, cwd, ['show', 'live'])]);
    assert.equal(json(c1).state, 'cancelled');
    assert.equal(gone.code, 3, 'a dropped job is no longer on record');

    // Stop it (SIGTERM: warm shutdown, exit 0) and use the read and write commands without it.
    worker.child.kill('SIGTERM');
    const exit = await exitWithin(worker, 30_000);
    assert.equal(exit.code, 0, `worker exit ${exit.code}/${exit.signal}\n${worker.stdout()}\n${worker.stderr()}`);
    assert.match(worker.stdout(), /worker stopped/);

    const off = await celeriac(t, cwd, ['send', 'demo.echo', '["offline"]', '--id', 'offline']);
    assert.equal(off.code, 0, explain(off));
    assert.equal(off.stdout, 'offline\n', explain(off, 'the id alone on stdout'));
    assert.match(off.stderr, /no worker is running/);
    const [offShow, listStopped, cancelledList, noWorkerTest] = await Promise.all([
      celeriac(t, cwd, ['show', 'offline', '--json']),
      celeriac(t, cwd, ['list']),
      celeriac(t, cwd, ['list', '--state', 'cancelled', '--json']),
      celeriac(t, cwd, ['test', '--timeout', '1']),
    ]);
    assert.equal(json(offShow).state, 'pending');
    assert.match(listStopped.stdout, /^offline +demo\.echo +default +pending +0 /m, explain(listStopped));
    assert.deepEqual(
      json<{ id: string }[]>(cancelledList)
        .map((x) => x.id)
        .sort(),
      ['c1', 'c2', 'running', 'waiting'],
    );
    assert.equal(noWorkerTest.code, 4, explain(noWorkerTest));
    assert.match(noWorkerTest.stdout, /no worker is running/);
    assert.match(noWorkerTest.stdout, /did not succeed/);

    const cancelOff = await celeriac(t, cwd, ['cancel', 'offline']);
    assert.equal(cancelOff.code, 0, explain(cancelOff, 'cancel works with no worker running'));
    assert.equal(json(await celeriac(t, cwd, ['show', 'offline', '--json'])).state, 'cancelled');
  });

  test('worker --watch starts (hot reload)', async (t) => {
    const cwd = await project(t, {
      'celeriac.config.json': JSON.stringify({ tasks: ['tasks'], concurrency: 1 }),
      'tasks/basic.js': BASIC_JS,
    });
    const r = await celeriac(t, cwd, ['worker', '--watch', '--burst']);
    assert.equal(r.code, 0, explain(r));
    assert.match(r.stdout, /watching task modules for changes/);
  });
});
