// `celeriac doctor`: the seed's "tasks don't show up" list turned into checks, each
// failure a ✘ line with a fix and exit 1. One temp project per failure mode, so that the
// exit code is that failure's alone.
import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { celeriac, ensureBuilt, explain, importTask, json, pluginFiles, project } from './cli-helpers.js';

before(() => ensureBuilt());

const GOOD_JS = `${importTask()}export const echo = task('demo.echo', (message) => message);\n`;
const config = (c: Record<string, unknown>) => ({ 'celeriac.config.json': JSON.stringify(c, null, 2) });

interface Case {
  name: string;
  files: Record<string, string>;
  /** The ✘ (or !) line, and the fix printed under it. */
  line: RegExp;
  fix: RegExp;
  code: number;
}

const CASES: Case[] = [
  {
    name: 'plugin listed but not installed',
    files: { ...config({ tasks: ['tasks'], plugins: ['celeriac-plugin-missing'] }), 'tasks/good.js': GOOD_JS },
    line: /^✘ plugin "celeriac-plugin-missing" is not installed \(looked in node_modules from .*\)/m,
    fix: /fix: install the plugin \(npm install celeriac-plugin-missing\)/,
    code: 1,
  },
  {
    name: 'plugin package without a "celeriac" field',
    files: {
      ...config({ plugins: ['celeriac-plugin-nofield'] }),
      'node_modules/celeriac-plugin-nofield/package.json': JSON.stringify({
        name: 'celeriac-plugin-nofield',
        version: '1.0.0',
        type: 'module',
      }),
      'node_modules/celeriac-plugin-nofield/index.js': 'export {};\n',
    },
    line: /^✘ plugin "celeriac-plugin-nofield" declares no task modules: add "celeriac": \{ "taskImports": .* to .*celeriac-plugin-nofield\/package\.json/m,
    fix: /fix: declare "celeriac": \{ "taskImports": "\.\/celeriac\.js" \} in celeriac-plugin-nofield's package\.json/,
    code: 1,
  },
  {
    name: 'taskImports() returns a path that does not resolve',
    files: {
      ...config({ tasks: ['tasks'], plugins: ['celeriac-plugin-broken'] }),
      'tasks/good.js': GOOD_JS,
      ...pluginFiles(
        'celeriac-plugin-broken',
        GOOD_JS.replace('demo.echo', 'broken.echo'),
        `export function taskImports() {\n  return ['./tasks.js', './missing.js'];\n}\n`,
      ),
    },
    line: /^✘ plugin celeriac-plugin-broken: taskImports\(\) names "\.\/missing\.js", which does not resolve from .*celeriac-plugin-broken\/celeriac\.js$/m,
    fix: /fix: make taskImports\(\) return module paths that resolve from the plugin module/,
    code: 1,
  },
  {
    name: 'the plugin module does not export taskImports()',
    files: {
      ...config({ tasks: ['tasks'], plugins: ['celeriac-plugin-bad0'] }),
      'tasks/good.js': GOOD_JS,
      ...pluginFiles('celeriac-plugin-bad0', GOOD_JS.replace('demo.echo', 'bad0.echo'), `export const tasks = ['./tasks.js'];\n`),
    },
    line: /^✘ plugin celeriac-plugin-bad0: .*celeriac-plugin-bad0\/celeriac\.js does not export a taskImports\(\) function \(export function taskImports\(\): string\[\] \{ return \['\.\/tasks\.js'\] \}\)$/m,
    fix: /fix: make taskImports\(\) return module paths that resolve from the plugin module/,
    code: 1,
  },
  {
    name: 'taskImports() throws',
    files: {
      ...config({ tasks: ['tasks'], plugins: ['celeriac-plugin-bad1'] }),
      'tasks/good.js': GOOD_JS,
      ...pluginFiles(
        'celeriac-plugin-bad1',
        GOOD_JS.replace('demo.echo', 'bad1.echo'),
        `export function taskImports() {\n  throw new Error('no config');\n}\n`,
      ),
    },
    line: /^✘ plugin celeriac-plugin-bad1: taskImports\(\) threw no config$/m,
    fix: /fix: make taskImports\(\) return module paths that resolve from the plugin module/,
    code: 1,
  },
  {
    name: 'taskImports() returns something other than paths',
    files: {
      ...config({ tasks: ['tasks'], plugins: ['celeriac-plugin-bad2'] }),
      'tasks/good.js': GOOD_JS,
      ...pluginFiles(
        'celeriac-plugin-bad2',
        GOOD_JS.replace('demo.echo', 'bad2.echo'),
        `export function taskImports() {\n  return './tasks.js';\n}\n`,
      ),
    },
    line: /^✘ plugin celeriac-plugin-bad2: taskImports\(\) must return an array of module paths, got "\.\/tasks\.js"$/m,
    fix: /fix: make taskImports\(\) return module paths that resolve from the plugin module/,
    code: 1,
  },
  {
    name: 'a module without tasks next to good ones: a warning',
    files: { ...config({ tasks: ['tasks'] }), 'tasks/good.js': GOOD_JS, 'tasks/helpers.js': 'export const helper = () => 1;\n' },
    line: /^! task module .*tasks\/helpers\.js defines no task \(does it call task\(\.\.\.\) at the top level\?\)$/m,
    fix: /fix: call task\(\.\.\.\) at the top level of the module/,
    code: 0,
  },
  {
    name: 'the only module defines no task',
    files: { ...config({ tasks: ['tasks'] }), 'tasks/helpers.js': 'export const helper = () => 1;\n' },
    line: /^✘ 0 task\(s\) load in a worker thread: none$/m,
    fix: /fix: call task\(\.\.\.\) at the top level of the module/,
    code: 1,
  },
  {
    name: 'an invalid task name',
    files: {
      ...config({ tasks: ['tasks'] }),
      'tasks/good.js': GOOD_JS,
      'tasks/bad.js': `${importTask()}export const bad = task('bad name!', () => 1);\n`,
    },
    line: /^✘ task module .*tasks\/bad\.js:2(?::\d+)? failed to import: .*invalid task name "bad name!"/m,
    fix: /fix: fix the error at that line/,
    code: 1,
  },
  {
    name: 'duplicate task names',
    files: {
      ...config({ tasks: ['tasks'] }),
      'tasks/a.js': GOOD_JS,
      'tasks/b.js': `${importTask()}\n// another module, same name\nexport const again = task('demo.echo', (m) => m);\n`,
    },
    line: /^✘ task name "demo\.echo" is defined twice: .*tasks\/a\.js:2 and .*tasks\/b\.js:4\./m,
    fix: /fix: rename one of the two tasks/,
    code: 1,
  },
  {
    name: 'a TypeScript module with a syntax error',
    files: {
      ...config({ tasks: ['tasks'] }),
      'tasks/good.js': GOOD_JS,
      'tasks/broken.ts': `${importTask()}export const ok = task('syntax.ok', () => 1);\nconst x: number = ;\n`,
    },
    line: /^✘ task module .*tasks\/broken\.ts:3(?::\d+)? failed to import/m,
    fix: /fix: fix the error at that line/,
    code: 1,
  },
  {
    name: 'a module that throws while importing',
    files: {
      ...config({ tasks: ['tasks'] }),
      'tasks/good.js': GOOD_JS,
      'tasks/throws.js': `${importTask()}\nthrow new Error('no DATABASE_URL');\n`,
    },
    line: /^✘ task module .*tasks\/throws\.js:3(?::\d+)? failed to import: Error: no DATABASE_URL$/m,
    fix: /fix: fix the error at that line/,
    code: 1,
  },
  {
    name: 'a task path that does not exist',
    files: { ...config({ tasks: ['tasks', 'taks'] }), 'tasks/good.js': GOOD_JS },
    line: /^✘ tasks path ".*\/taks" does not exist/m,
    fix: /fix: fix the path in "tasks"/,
    code: 1,
  },
  {
    name: 'nothing configured',
    files: {},
    line: /^✘ no task modules are configured$/m,
    fix: /fix: set "tasks" \(files or directories\) or "plugins" in celeriac\.config\.ts, or pass --tasks PATH/,
    code: 1,
  },
];

describe('celeriac doctor', { concurrency: 4 }, () => {
  test('a healthy setup (tasks, a plugin, a data dir) exits 0 with only ✔ lines, and a warning for a job no worker runs', async (t) => {
    const cwd = await project(t, {
      ...config({ tasks: ['tasks'], plugins: ['celeriac-plugin-hello'], dir: 'data' }),
      'tasks/good.js': GOOD_JS,
      ...pluginFiles('celeriac-plugin-hello', `${importTask()}export const greet = task('hello.greet', (n) => 'hello ' + n);\n`),
    });
    const sent = await celeriac(t, cwd, ['send', 'demo.echo', '["x"]']);
    assert.equal(sent.code, 0, explain(sent));
    const [r, j] = await Promise.all([celeriac(t, cwd, ['doctor']), celeriac(t, cwd, ['doctor', '--json'])]);
    assert.equal(r.code, 0, explain(r));
    assert.doesNotMatch(r.stdout, /^✘/m, explain(r));
    // The one job sent waits, and no worker holds the dir: a warning with its fix, not a problem.
    assert.deepEqual(
      r.stdout.split('\n').filter((l) => l.startsWith('!')),
      [`! 1 job(s) are waiting to run and no worker is running on ${join(cwd, 'data')}: nothing runs them until one starts`],
      explain(r),
    );
    assert.match(r.stdout, /^! 1 job\(s\) are waiting.*\n {4}fix: start a worker on this data dir: celeriac worker/m, explain(r));
    assert.match(r.stdout, /^✔ config file .*celeriac\.config\.json loads and its keys are valid$/m);
    assert.match(
      r.stdout,
      /^✔ plugin celeriac-plugin-hello is installed and declares taskImports → .*celeriac-plugin-hello\/celeriac\.js$/m,
    );
    assert.match(r.stdout, /^✔ 2 task\(s\) load in a worker thread: demo\.echo, hello\.greet$/m, explain(r));
    assert.match(r.stdout, /^✔ data dir .*data has no running worker$/m);
    assert.match(r.stdout, /^✔ journal and snapshot read cleanly: 1 job\(s\) \(pending 1\); 1 not finished$/m);
    assert.match(r.stdout, /no problems found\./);
    assert.equal(j.code, 0, explain(j));
    const report = json<{ ok: boolean; checks: { ok: boolean; warn?: boolean; what: string }[] }>(j);
    assert.equal(report.ok, true);
    assert.ok(report.checks.length >= 5 && report.checks.every((c) => c.ok || c.warn), explain(j));
    assert.equal(report.checks.filter((c) => !c.ok).length, 1, 'one warning: the waiting job');
  });

  for (const c of CASES) {
    test(`${c.name}: ${c.code ? '✘ with a fix, exit 1' : '! with a fix, exit 0'}`, async (t) => {
      const cwd = await project(t, c.files);
      const r = await celeriac(t, cwd, ['doctor']);
      assert.equal(r.code, c.code, explain(r));
      assert.match(r.stdout, c.line, explain(r));
      // The fix belongs to that check: it is on a line right after a ✘/! line.
      const lines = r.stdout.split('\n');
      const at = lines.findIndex((l) => c.fix.test(l));
      assert.ok(
        at > 0 && /^ {4}fix: /.test(lines[at]!) && /^ {4}fix: |^[✘!] /.test(lines[at - 1]!),
        explain(r, `the fix ${c.fix} follows a failed check`),
      );
      assert.match(r.stdout, c.code ? /\n\d+ problem\(s\) found\.\n$/ : /\nno problems found\.\n$/);
      if (c.code) {
        const j = await celeriac(t, cwd, ['doctor', '--json']);
        assert.equal(j.code, 1, explain(j));
        const report = json<{ ok: boolean; checks: { ok: boolean; warn?: boolean; what: string; fix?: string }[] }>(j);
        assert.equal(report.ok, false);
        assert.ok(
          report.checks.some((x) => !x.ok && !x.warn && x.fix),
          explain(j),
        );
      }
    });
  }

  test('a JavaScript module with a syntax error: ✘ with file:line', async (t) => {
    const cwd = await project(t, {
      ...config({ tasks: ['tasks'] }),
      'tasks/good.js': GOOD_JS,
      'tasks/broken.js': `${importTask()}export const ok = task('syntax.ok', () => 1);\nconst x = ;\n`,
    });
    const r = await celeriac(t, cwd, ['doctor']);
    assert.equal(r.code, 1, explain(r));
    assert.match(r.stdout, /^✘ task module .*tasks\/broken\.js:3(?::\d+)? failed to import: SyntaxError/m, explain(r));
  });
});
