// examples/deploy: the supervisor program and the systemd unit, checked by the tools
// that will read them — supervisor's own config parser (and a real supervisord running
// the worker), and `systemd-analyze verify`. A tool that is not installed skips its
// test with the reason; .ci/run installs supervisor.
//
// The files name a deployment (/srv/myapp, user myapp, /var/log/celeriac); the tests put
// a throwaway app project and the current user in their place, and change nothing else.
import { strict as assert } from 'node:assert';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { homedir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { createClient } from '../src/index.js';
import { childEnv, exampleProject, run } from './example-project.js';
import { ROOT, waitFor } from './helpers.js';

const DEPLOY = join(ROOT, 'examples', 'deploy');
const SUPERVISOR_CONF = join(DEPLOY, 'celeriac-supervisor.conf');
const UNIT = join(DEPLOY, 'celeriac.service');
/** celeriac's default shutdownTimeout: the grace a warm shutdown gives running jobs. */
const SHUTDOWN_GRACE_S = 30;

const user = userInfo().username;
const group = spawnSync('id', ['-gn'], { encoding: 'utf8' }).stdout.trim() || user;

/** The deployment's names replaced by this machine's: every placeholder must be there. */
function localize(text: string, project: string, logDir: string): string {
  const swaps: [RegExp, string][] = [
    [/\/srv\/myapp/g, project],
    [/\/var\/log\/celeriac/g, logDir],
    [/\/home\/myapp/g, homedir()],
    [/^user=myapp$/gm, `user=${user}`],
    [/^User=myapp$/gm, `User=${user}`],
    [/^Group=myapp$/gm, `Group=${group}`],
    [/PATH="[^"]*"/g, `PATH="${dirname(process.execPath)}:/usr/local/bin:/usr/bin:/bin"`],
  ];
  let out = text;
  for (const [from, to] of swaps) out = out.replace(from, to);
  assert.doesNotMatch(out, /\/srv\/myapp|=myapp$/m, 'a deployment placeholder the test does not know');
  return out;
}

/** A python3 that imports supervisor (Debian's package installs it for /usr/bin/python3). */
function supervisorPython(): { python?: string; why?: string } {
  const tried: string[] = [];
  for (const python of ['/usr/bin/python3', 'python3']) {
    const r = spawnSync(python, ['-c', 'import supervisor.options, supervisor.datatypes'], { encoding: 'utf8' });
    if (r.status === 0) return { python };
    tried.push(`${python}: ${r.error ? r.error.message : (r.stderr.trim().split('\n').pop() ?? `exit ${r.status}`)}`);
  }
  return { why: `supervisor is not installed (apt-get install -y supervisor; .ci/run does it) — ${tried.join('; ')}` };
}

function skip(t: TestContext, why: string): void {
  t.diagnostic(`skipped: ${why}`);
  t.skip(why);
}

// Loads [program:*] sections through supervisor's own ServerOptions (the code supervisord
// runs on `reread`), and reports every option that supervisor never read: supervisor
// ignores unknown keys silently, so a misspelt one would otherwise pass.
const PARSE_PY = String.raw`
import json, os, signal, sys
from supervisor.options import ServerOptions, UnhosedConfigParser
from supervisor.datatypes import RestartUnconditionally, RestartWhenExitUnexpected

path = sys.argv[1]
read = set()

class Tracking(UnhosedConfigParser):
    def saneget(self, section, option, *args, **kwargs):
        read.add((section, option))
        return UnhosedConfigParser.saneget(self, section, option, *args, **kwargs)

opts = ServerOptions()
opts.here = os.path.dirname(os.path.abspath(path))
parser = Tracking()
parser.expansions = {}
if not parser.read(path):
    sys.exit('cannot read ' + path)
groups = opts.process_groups_from_parser(parser)
out = {'warnings': list(opts.parse_warnings), 'programs': [], 'unread': []}
for section in parser.sections():
    for option in parser.options(section):
        if (section, option) not in read:
            out['unread'].append('[%s] %s' % (section, option))
for g in groups:
    for p in g.process_configs:
        ar = p.autorestart
        out['programs'].append({
            'name': p.name, 'priority': g.priority, 'numprocs': len(g.process_configs),
            'command': p.command, 'directory': p.directory, 'uid': p.uid, 'environment': p.environment,
            'autostart': p.autostart,
            'autorestart': 'true' if ar is RestartUnconditionally else 'unexpected' if ar is RestartWhenExitUnexpected else 'false',
            'startsecs': p.startsecs, 'stopsignal': signal.Signals(p.stopsignal).name, 'stopwaitsecs': p.stopwaitsecs,
            'stopasgroup': p.stopasgroup, 'killasgroup': p.killasgroup,
            'stdout_logfile': p.stdout_logfile, 'stderr_logfile': p.stderr_logfile,
        })
print(json.dumps(out))
`;

interface Parsed {
  warnings: string[];
  unread: string[];
  programs: {
    name: string;
    priority: number;
    numprocs: number;
    command: string;
    directory: string;
    uid: number;
    environment: Record<string, string>;
    autostart: boolean;
    autorestart: string;
    startsecs: number;
    stopsignal: string;
    stopwaitsecs: number;
    stopasgroup: boolean;
    killasgroup: boolean;
    stdout_logfile: string;
    stderr_logfile: string;
  }[];
}

async function parseWithSupervisor(python: string, file: string): Promise<Parsed> {
  const res = await run(python, ['-c', PARSE_PY, file], { cwd: dirname(file), timeout: 30_000 });
  assert.equal(res.code, 0, `supervisor rejected ${file}:\n${res.stderr}`);
  return JSON.parse(res.stdout) as Parsed;
}

test("supervisor's own config parser loads [program:celeriac] as documented", async (t) => {
  const { python, why } = supervisorPython();
  if (!python) return skip(t, why!);
  const project = await exampleProject(t, [], 'celeriac-deploy-parse-');
  const logDir = join(project, 'log');
  await mkdir(logDir); // supervisor refuses a log file whose directory does not exist
  const conf = join(project, 'celeriac.conf');
  await writeFile(conf, localize(await readFile(SUPERVISOR_CONF, 'utf8'), project, logDir));

  const parsed = await parseWithSupervisor(python, conf);
  assert.deepEqual(parsed.warnings, []);
  assert.deepEqual(parsed.unread, [], 'every key in the file is one supervisor reads');
  assert.equal(parsed.programs.length, 1);
  const p = parsed.programs[0]!;
  assert.equal(p.name, 'celeriac');
  assert.equal(p.numprocs, 1, 'one worker per data dir');
  assert.equal(p.command, `${project}/node_modules/.bin/celeriac worker --config ${project}/celeriac.config.ts`);
  assert.equal(p.directory, project);
  assert.equal(p.uid, userInfo().uid);
  assert.equal(p.environment.NODE_ENV, 'production');
  assert.equal(p.autostart, true);
  assert.equal(p.autorestart, 'true');
  assert.equal(p.stopsignal, 'SIGTERM', 'SIGTERM is the warm shutdown');
  assert.ok(
    p.stopwaitsecs > SHUTDOWN_GRACE_S + 5,
    `stopwaitsecs ${p.stopwaitsecs} must outlast the shutdown grace (${SHUTDOWN_GRACE_S} s)`,
  );
  assert.equal(p.stopasgroup, false, 'SIGTERM goes to the worker only');
  assert.equal(p.killasgroup, true);
  assert.equal(p.stdout_logfile, join(logDir, 'worker.log'));
  assert.equal(p.stderr_logfile, join(logDir, 'worker.err.log'));

  // The check itself: a misspelt key is reported, not silently ignored.
  const typo = join(project, 'typo.conf');
  await writeFile(typo, (await readFile(conf, 'utf8')).replace(/^stopwaitsecs=/m, 'stopwaitsec='));
  assert.deepEqual((await parseWithSupervisor(python, typo)).unread, ['[program:celeriac] stopwaitsec']);
});

test('under a real supervisord: the worker starts, a killed worker is restarted and its job recovered, stop is a warm shutdown', {
  timeout: 120_000,
}, async (t) => {
  const { python, why } = supervisorPython();
  if (!python) return skip(t, why!);
  const project = await exampleProject(t, [], 'celeriac-deploy-run-');
  const logDir = join(project, 'log');
  await mkdir(logDir);
  await mkdir(join(project, 'tasks'));
  await writeFile(
    join(project, 'tasks', 'slow.ts'),
    `import { context, task } from 'celeriac';\n\nexport const slow = task('deploy.slow', async (ms: number) => {\n  await new Promise((r) => setTimeout(r, ms));\n  return { pid: process.pid, recovered: context().recovered };\n});\n`,
  );
  await writeFile(
    join(project, 'celeriac.config.ts'),
    `import { defineConfig } from 'celeriac';\n\nexport default defineConfig({ dir: '.celeriac', tasks: ['./tasks'], concurrency: 1, shutdownTimeout: ${SHUTDOWN_GRACE_S} });\n`,
  );
  const sv = join(project, 'supervisor');
  await mkdir(join(sv, 'conf.d'), { recursive: true });
  await writeFile(join(sv, 'conf.d', 'celeriac.conf'), localize(await readFile(SUPERVISOR_CONF, 'utf8'), project, logDir));
  const main = join(sv, 'supervisord.conf');
  await writeFile(
    main,
    [
      '[unix_http_server]',
      `file=${sv}/supervisor.sock`,
      '[supervisord]',
      'nodaemon=true',
      `logfile=${sv}/supervisord.log`,
      `pidfile=${sv}/supervisord.pid`,
      `childlogdir=${sv}`,
      '[rpcinterface:supervisor]',
      'supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface',
      '[supervisorctl]',
      `serverurl=unix://${sv}/supervisor.sock`,
      '[include]',
      `files=${sv}/conf.d/*.conf`,
      '',
    ].join('\n'),
  );
  const ctl = (...args: string[]) =>
    run(python, ['-m', 'supervisor.supervisorctl', '-c', main, ...args], { cwd: project, timeout: 60_000 });
  const workerLog = () => readFile(join(logDir, 'worker.log'), 'utf8').catch(() => '');
  const workers = new Set<number>(); // every worker pid seen, killed at the end if still there
  const workerPid = async () => {
    const r = await ctl('pid', 'celeriac');
    const pid = Number(r.stdout.trim());
    if (!Number.isInteger(pid) || pid <= 0) return undefined;
    workers.add(pid);
    return pid;
  };

  const supervisord = spawn(python, ['-m', 'supervisor.supervisord', '-c', main], {
    cwd: project,
    env: childEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  supervisord.stdout.on('data', (c: Buffer) => (output += c.toString()));
  supervisord.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<void>((resolve) => supervisord.once('exit', () => resolve()));
  const running = () => supervisord.exitCode === null && supervisord.signalCode === null;
  t.after(async () => {
    if (running()) {
      // Politely first: supervisord stops the worker (SIGTERM), then exits.
      await workerPid().catch(() => undefined);
      await ctl('shutdown');
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([exited, new Promise<void>((resolve) => (timer = setTimeout(resolve, 20_000)))]);
      clearTimeout(timer);
    }
    if (running()) {
      supervisord.kill('SIGKILL');
      await exited;
    }
    // A worker still alive (its pid still running this project's command: pids are reused).
    for (const pid of workers) {
      let cmdline = '';
      try {
        cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      } catch {
        continue; // gone, as it should be
      }
      if (cmdline.includes(project)) process.kill(pid, 'SIGKILL');
    }
  });
  const context = async () =>
    `\n--- supervisord ---\n${output}\n${await readFile(join(sv, 'supervisord.log'), 'utf8').catch(() => '')}\n--- worker.log ---\n${await workerLog()}`;

  try {
    // 1. supervisord starts the worker, which prints its banner with the tasks.
    await waitFor(async () => /\[tasks\][\s\S]*deploy\.slow/.test(await workerLog()), 30_000, 'the worker banner in worker.log');
    const first = (await waitFor(workerPid, 10_000, 'the worker pid'))!;
    const client = await createClient({ dir: join(project, '.celeriac') });

    // 2. A job is running when the worker is SIGKILLed: supervisor restarts the worker,
    //    which runs the job again, flagged recovered.
    // Long enough that a poll of the data dir catches it started even on a loaded machine:
    // a job that starts and finishes between two polls is never seen started (at 1.5 s
    // this wait once timed out during a loaded full run).
    const a = await client.send('deploy.slow', [4000], { id: 'killed-mid-job' });
    await waitFor(async () => (await client.get(a.id))?.state === 'started', 20_000, 'the first job to start');
    process.kill(first, 'SIGKILL');
    const result = (await client.result(a.id, { timeout: 40 })) as { pid: number; recovered: boolean };
    workers.add(result.pid);
    assert.notEqual(result.pid, first, 'a new worker process ran it');
    assert.equal(result.recovered, true);
    assert.equal((await client.get(a.id))!.state, 'succeeded');

    // 3. `supervisorctl stop` sends SIGTERM: the running job finishes, then the worker exits.
    const b = await client.send('deploy.slow', [4000], { id: 'running-at-stop' });
    await waitFor(async () => (await client.get(b.id))?.state === 'started', 20_000, 'the second job to start');
    const stopped = await ctl('stop', 'celeriac');
    assert.match(stopped.stdout, /celeriac: stopped/, stopped.stdout + stopped.stderr);
    const infoB = (await client.get(b.id))!;
    assert.equal(infoB.state, 'succeeded', 'a warm shutdown lets the running job finish');
    assert.equal(infoB.attempts, 1);
    const log = await workerLog();
    assert.match(log, /SIGTERM: warm shutdown/);
    assert.match(log, /worker stopped/);
    assert.doesNotMatch(log, /cold shutdown — aborting/);
    assert.equal(existsSync(join(project, '.celeriac', 'LOCK')), false, 'the data dir was released');

    const down = await ctl('shutdown');
    assert.match(down.stdout, /Shut down/i, down.stdout + down.stderr);
    await exited;
  } catch (err) {
    (err as Error).message += await context();
    throw err;
  }
});

test('systemd-analyze verify accepts celeriac.service', async (t) => {
  const which = spawnSync('sh', ['-c', 'command -v systemd-analyze'], { encoding: 'utf8' });
  const analyze = which.stdout.trim();
  if (which.status !== 0 || !analyze) return skip(t, 'systemd-analyze is not installed (Debian: package systemd)');
  const project = await exampleProject(t, [], 'celeriac-deploy-unit-');
  const unit = join(project, 'celeriac.service');
  await writeFile(unit, localize(await readFile(UNIT, 'utf8'), project, join(project, 'log')));

  const res = await run(analyze, ['verify', unit], { cwd: project, timeout: 30_000 });
  const aboutUnit = `${res.stdout}${res.stderr}`.split('\n').filter((l) => l.includes('celeriac.service'));
  assert.equal(res.code, 0, `systemd-analyze verify failed:\n${res.stdout}${res.stderr}`);
  assert.deepEqual(aboutUnit, [], 'no warning about the unit');

  // What the README promises, read back from the unit.
  const keys = new Map<string, string>();
  for (const line of (await readFile(UNIT, 'utf8')).split('\n')) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (m) keys.set(m[1]!, m[2]!);
  }
  assert.equal(keys.get('Type'), 'simple');
  assert.equal(keys.get('ExecStart'), '/srv/myapp/node_modules/.bin/celeriac worker --config /srv/myapp/celeriac.config.ts');
  assert.equal(keys.get('WorkingDirectory'), '/srv/myapp');
  assert.equal(keys.get('Restart'), 'on-failure');
  assert.equal(keys.get('KillSignal'), 'SIGTERM');
  assert.ok(Number.parseInt(keys.get('TimeoutStopSec') ?? '', 10) > SHUTDOWN_GRACE_S + 5, 'TimeoutStopSec outlasts the shutdown grace');

  // The check itself: a misspelt key is reported.
  await writeFile(unit, (await readFile(unit, 'utf8')).replace(/^KillMode=/m, 'KillMod='));
  const typo = await run(analyze, ['verify', unit], { cwd: project, timeout: 30_000 });
  assert.match(`${typo.stdout}${typo.stderr}`, /Unknown key 'KillMod'|Unknown key name 'KillMod'/);
});
