// Per-job log lines: received, succeeded (run time), retried (countdown, reason), failed
// (error), only when asked for (logJobs); a plain logger gets sentences, a pino-style one
// (it has child()) gets fields too. `celeriac worker` writes them at --loglevel info, in
// text or JSON lines, and --burst ends with what it ran.
import { strict as assert } from 'node:assert';
import { before, describe, test } from 'node:test';
import { TaskFailedError } from '../src/index.js';
import { celeriac, ensureBuilt, explain, importTask, project } from './cli-helpers.js';
import { fixture, openApp } from './helpers.js';

type Line = { level: string; msg: string; fields?: Record<string, unknown> };

function plain(lines: Line[]) {
  return {
    info: (m: string) => lines.push({ level: 'info', msg: m }),
    warn: (m: string) => lines.push({ level: 'warn', msg: m }),
    error: (m: string) => lines.push({ level: 'error', msg: m }),
  };
}

function pinoLike(lines: Line[]) {
  const at = (level: string) => (fields: object | string, msg?: string) =>
    lines.push(typeof fields === 'string' ? { level, msg: fields } : { level, msg: msg ?? '', fields: fields as Record<string, unknown> });
  const log = { info: at('info'), warn: at('warn'), error: at('error'), child: () => log };
  return log;
}

const of = (lines: Line[], id: string) => lines.filter((l) => l.msg.includes(id));

describe('per-job log lines (app)', () => {
  test('logJobs: received, succeeded with its run time, retried with countdown and reason, failed with the error', async (t) => {
    const lines: Line[] = [];
    const app = await openApp(t, { tasks: [fixture('basic'), fixture('retry')], logger: plain(lines), logJobs: true });
    await app.start();
    const ok = await app.send('demo.echo', ['hi']);
    const flaky = await app.send('retry.flaky', [1]);
    const boom = await app.send('demo.boom', ['bad input']);
    assert.equal(await ok.result({ timeout: 30 }), 'hi');
    assert.equal(await flaky.result({ timeout: 30 }), 1);
    await assert.rejects(boom.result({ timeout: 30 }), TaskFailedError);

    const echo = of(lines, ok.id);
    assert.deepEqual(
      echo.map((l) => l.level),
      ['info', 'info'],
      JSON.stringify(echo),
    );
    assert.equal(echo[0]!.msg, `demo.echo[${ok.id}] received`);
    assert.match(echo[1]!.msg, new RegExp(`^demo\\.echo\\[${ok.id}\\] succeeded in [\\d.]+ m?s: "hi"$`));

    const retried = of(lines, flaky.id).map((l) => l.msg);
    assert.equal(retried.length, 3, JSON.stringify(retried));
    assert.match(
      retried[1]!,
      new RegExp(`^retry\\.flaky\\[${flaky.id}\\] retry 1 due in [\\d.]+ m?s \\(ran [\\d.]+ m?s\\): Error: transient failure #1$`),
    );
    assert.match(retried[2]!, /succeeded in .*: 1$/);

    const failed = of(lines, boom.id);
    assert.equal(failed.at(-1)!.level, 'error');
    assert.match(failed.at(-1)!.msg, new RegExp(`^demo\\.boom\\[${boom.id}\\] failed in [\\d.]+ m?s: TypeError: bad input$`));
  });

  test('a pino-style logger gets the fields; without logJobs nothing is logged per job', async (t) => {
    const lines: Line[] = [];
    const app = await openApp(t, { tasks: [fixture('basic')], logger: pinoLike(lines), logJobs: true });
    await app.start();
    const h = await app.send('math.add', [2, 3]);
    assert.equal(await h.result({ timeout: 30 }), 5);
    const done = lines.find((l) => l.fields?.event === 'succeeded');
    assert.ok(done, JSON.stringify(lines));
    assert.equal(done.fields!.id, h.id);
    assert.equal(done.fields!.task, 'math.add');
    assert.equal(typeof done.fields!.runMs, 'number');
    assert.deepEqual(
      lines.filter((l) => l.fields?.id === h.id).map((l) => l.fields!.event),
      ['received', 'succeeded'],
    );

    const quiet: Line[] = [];
    const app2 = await openApp(t, { tasks: [fixture('basic')], logger: plain(quiet) });
    await app2.start();
    const h2 = await app2.send('demo.echo', ['x']);
    await h2.result({ timeout: 30 });
    assert.deepEqual(of(quiet, h2.id), [], 'no per-job line unless logJobs');
  });
});

describe('per-job log lines (celeriac worker)', () => {
  before(() => ensureBuilt());
  const files = () => ({
    'tasks/t.js': `${importTask()}export const echo = task('demo.echo', (m) => m);\nexport const boom = task('demo.boom', (m) => { throw new TypeError(m); });\n`,
    'celeriac.config.json': JSON.stringify({ dir: '.celeriac', tasks: ['./tasks'], concurrency: 1 }),
  });

  test('--loglevel info (default) logs each job; warn only failures; --burst ends with the counts; json lines', async (t) => {
    const cwd = await project(t, files());
    for (const args of [
      ['demo.echo', '["a"]', '--id', 'ok-1'],
      ['demo.boom', '["b"]', '--id', 'bad-1'],
    ]) {
      const r = await celeriac(t, cwd, ['send', ...args]);
      assert.equal(r.code, 0, explain(r));
    }
    const info = await celeriac(t, cwd, ['worker', '--burst']);
    assert.equal(info.code, 0, explain(info));
    assert.match(info.stdout, /^\[\S+ INFO\] demo\.echo\[ok-1\] received$/m, explain(info));
    assert.match(info.stdout, /^\[\S+ INFO\] demo\.echo\[ok-1\] succeeded in [\d.]+ m?s: "a"$/m, explain(info));
    assert.match(info.stderr, /^\[\S+ ERROR\] demo\.boom\[bad-1\] failed in [\d.]+ m?s: TypeError: b$/m, explain(info));
    assert.match(info.stdout, /burst: no job is due any more; ran 2 job\(s\): 1 succeeded, 1 failed, 0 retried/, explain(info));

    for (const args of [
      ['demo.echo', '["c"]', '--id', 'ok-2'],
      ['demo.boom', '["d"]', '--id', 'bad-2'],
    ])
      await celeriac(t, cwd, ['send', ...args]);
    const warn = await celeriac(t, cwd, ['worker', '--burst', '--loglevel', 'warn']);
    assert.equal(warn.code, 0, explain(warn));
    assert.doesNotMatch(warn.stdout + warn.stderr, /ok-2/, explain(warn, 'no line for a job that succeeded'));
    assert.match(warn.stderr, /demo\.boom\[bad-2\] failed/, explain(warn));
    assert.match(warn.stdout, /ran 2 job\(s\): 1 succeeded, 1 failed/, explain(warn));

    await celeriac(t, cwd, ['send', 'demo.echo', '["e"]', '--id', 'ok-3']);
    const json = await celeriac(t, cwd, ['worker', '--burst', '--log-format', 'json']);
    assert.equal(json.code, 0, explain(json));
    const records = json.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const mine = records.filter((r) => r.id === 'ok-3');
    assert.deepEqual(
      mine.map((r) => [r.level, r.event, r.task]),
      [
        ['info', 'received', 'demo.echo'],
        ['info', 'succeeded', 'demo.echo'],
      ],
      explain(json),
    );
    assert.equal(typeof mine[1]!.runMs, 'number');
    assert.ok(!Number.isNaN(Date.parse(String(mine[1]!.time))), 'each line has its time');

    const bad = await celeriac(t, cwd, ['worker', '--burst', '--loglevel', 'loud']);
    assert.equal(bad.code, 2, explain(bad));
    assert.match(bad.stderr, /--loglevel must be one of info, warn, error; got "loud"/);
  });
});
