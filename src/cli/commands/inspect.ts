// `celeriac tasks` and `celeriac doctor`: what would load, and — when a task does not
// show up — why. doctor is the seed's troubleshooting list turned into checks with fixes.
import { parseBrokerUrl } from '../../backend/bullmq/broker-url.js';
import { checkBroker } from '../../backend/bullmq/probe.js';
import { existsSync } from 'node:fs';
import { readJobs, repairDataDir } from '../../admin.js';
import { CeleriacError } from '../../errors.js';
import { FINISHED_STATES } from '../../jobs.js';
import type { PluginRef, TaskManifestEntry } from '../../registry/types.js';
import { discoverTasks, findTaskModules } from '../../registry/discover.js';
import { packageDir, resolvePlugin } from '../../registry/plugins.js';
import { dataDirProblem } from '../../store/dir-trust.js';
import { inspectLock, releaseStaleLock } from '../../store/lock.js';
import { EXIT, needTasks, type Settings } from '../context.js';
import { table } from '../table.js';

function taskPaths(s: Settings): string[] {
  const t = s.config.tasks;
  return typeof t === 'string' ? [t] : (t ?? []);
}

export async function tasksCommand(s: Settings, json: boolean): Promise<number> {
  needTasks(s);
  const plugins = (s.config.plugins ?? []).map((p) => resolvePlugin(p, s.cwd));
  const found = await discoverTasks(await findTaskModules(taskPaths(s), s.cwd), plugins);
  const errors = found.problems.filter((p) => p.kind !== 'empty');
  if (json) console.log(JSON.stringify({ tasks: found.tasks, problems: found.problems }));
  else {
    console.log(
      table(
        ['TASK', 'MODULE', 'PLUGIN'],
        found.tasks.map((t: TaskManifestEntry) => [t.name, `${t.file}:${t.line}`, t.plugin ?? '']),
      ),
    );
    for (const p of found.problems) process.stderr.write(`${p.kind === 'empty' ? 'warning' : 'error'}: ${p.message}\n`);
  }
  return errors.length ? EXIT.error : EXIT.ok;
}

interface Check {
  ok: boolean;
  warn?: boolean;
  what: string;
  fix?: string;
}

export async function doctorCommand(s: Settings, json: boolean): Promise<number> {
  const checks: Check[] = [];
  const add = (c: Check) => checks.push(c);
  add({
    ok: true,
    what: s.configFile ? `config file ${s.configFile} loads and its keys are valid` : 'no celeriac.config.* here: using flags and defaults',
  });

  const paths = taskPaths(s);
  const pluginNames = s.config.plugins ?? [];
  if (paths.length + pluginNames.length === 0) {
    add({
      ok: false,
      what: 'no task modules are configured',
      fix: 'set "tasks" (files or directories) or "plugins" in celeriac.config.ts, or pass --tasks PATH',
    });
  }
  let modules: string[] = [];
  try {
    modules = await findTaskModules(paths, s.cwd);
    if (paths.length) add({ ok: true, what: `task paths ${paths.join(', ')} hold ${modules.length} module file(s)` });
  } catch (err) {
    add({ ok: false, what: (err as Error).message, fix: 'fix the path in "tasks" (relative paths are relative to the config file)' });
  }
  const plugins: PluginRef[] = [];
  for (const name of pluginNames) {
    try {
      const ref = resolvePlugin(name, s.cwd);
      plugins.push(ref);
      add({ ok: true, what: `plugin ${name} is installed and declares taskImports → ${ref.entry}` });
    } catch (err) {
      // An installed package that lacks the "celeriac" field needs that field, not `npm install`.
      const installed = packageDir(name, s.cwd) !== undefined;
      add({
        ok: false,
        what: (err as Error).message,
        fix: installed
          ? `declare "celeriac": { "taskImports": "./celeriac.js" } in ${name}'s package.json, pointing at a module that exports taskImports()`
          : `install the plugin (npm install ${name}), or remove "${name}" from "plugins"`,
      });
    }
  }

  if (modules.length + plugins.length > 0) {
    const found = await discoverTasks(modules, plugins);
    for (const p of found.problems) {
      const fix =
        p.kind === 'import'
          ? 'fix the error at that line; the module must import cleanly on its own'
          : p.kind === 'duplicate'
            ? 'rename one of the two tasks: names are unique across all modules and plugins'
            : p.kind === 'empty'
              ? 'call task(...) at the top level of the module (and export it), or remove the module from the task paths'
              : 'make taskImports() return module paths that resolve from the plugin module (e.g. "./tasks.js")';
      add({ ok: false, warn: p.kind === 'empty', what: p.message, fix });
    }
    const user = found.tasks.filter((t) => t.name !== 'celeriac.test');
    add({
      ok: user.length > 0,
      what: `${user.length} task(s) load in a worker thread: ${user.map((t) => t.name).join(', ') || 'none'}`,
      ...(user.length ? {} : { fix: 'see the problems above' }),
    });
  }

  if (s.config.broker !== undefined) await brokerChecks(s.config.broker, add);
  else if (existsSync(s.dir)) {
    const unsafe = await dataDirProblem(s.dir).catch((err: Error) => err.message);
    if (unsafe) add({ ok: false, what: unsafe, fix: 'workers and sends refuse this dir until it is fixed (README: Security)' });
    const lock = await inspectLock(s.dir);
    add(lockCheck(s.dir, lock));
    try {
      const jobs = await readJobs(s.dir);
      const counts = new Map<string, number>();
      for (const j of jobs.values()) counts.set(j.state, (counts.get(j.state) ?? 0) + 1);
      const waiting = [...jobs.values()].filter((j) => !FINISHED_STATES.has(j.state)).length;
      add({
        ok: true,
        what: `journal and snapshot read cleanly: ${jobs.size} job(s) (${[...counts].map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}); ${waiting} not finished`,
      });
      if (waiting > 0 && !lock.live) {
        add({
          ok: false,
          warn: true,
          what: `${waiting} job(s) are waiting to run and no worker is running on ${s.dir}: nothing runs them until one starts`,
          fix: 'start a worker on this data dir: celeriac worker (or an app that calls start() on it)',
        });
      }
    } catch (err) {
      add({
        ok: false,
        what: `the data dir cannot be read: ${(err as Error).message}`,
        fix:
          err instanceof CeleriacError && err.code === 'CORRUPT_JOURNAL'
            ? 'move the damaged file aside (keep it), then restart; report the offset'
            : 'check permissions on the data dir',
      });
    }
  } else {
    add({ ok: true, what: `data dir ${s.dir} does not exist yet: the first worker or send creates it` });
  }

  const failed = checks.filter((c) => !c.ok && !c.warn);
  if (json) console.log(JSON.stringify({ ok: failed.length === 0, checks }));
  else {
    for (const c of checks) {
      console.log(`${c.ok ? '✔' : c.warn ? '!' : '✘'} ${c.what}`);
      if (!c.ok && c.fix) console.log(`    fix: ${c.fix}`);
    }
    console.log(failed.length ? `\n${failed.length} problem(s) found.` : '\nno problems found.');
  }
  return failed.length ? EXIT.error : EXIT.ok;
}

/** With a broker: is it there, and does it keep what it acknowledges? */
async function brokerChecks(url: string, add: (c: Check) => void): Promise<void> {
  let broker;
  try {
    broker = parseBrokerUrl(url, '--broker');
  } catch (err) {
    add({ ok: false, what: (err as Error).message, fix: 'give a redis://host:6379 or postgres://user@host:5432/db URL' });
    return;
  }
  let checks;
  try {
    checks = await checkBroker(broker, 'broker');
  } catch (err) {
    add({ ok: false, what: (err as Error).message, fix: `start the server, or correct the URL (${broker.masked})` });
    return;
  }
  add({ ok: true, what: `broker ${broker.masked} answers` });
  for (const c of checks) {
    // everysec loses at most about a second of acknowledged jobs, and only when the machine stops: a warning.
    const warn = !c.ok && c.name === 'appendfsync' && c.value === 'everysec';
    add({ ok: c.ok, ...(warn ? { warn } : {}), what: `${c.name} is ${c.value}`, ...(c.advice ? { fix: c.advice } : {}) });
  }
}

function lockCheck(dir: string, lock: Awaited<ReturnType<typeof inspectLock>>): Check {
  if (lock.live) return { ok: true, what: `data dir ${dir} is owned by a running worker (pid ${lock.pid ?? 'unknown'})` };
  const left = lock.file;
  if (!left) return { ok: true, what: `data dir ${dir} has no running worker` };
  if (left.host !== lock.thisHost) {
    return {
      ok: false,
      what: `data dir ${dir} has a LOCK left by pid ${left.pid} on host ${left.host} (since ${left.since}); this host is ${lock.thisHost}. A worker here refuses to start while it is there: it cannot tell whether that process still runs`,
      fix: `if no celeriac worker runs on ${left.host} any more (a replaced container gets a new hostname), release it: celeriac doctor --release-lock (refused while a worker on this machine holds the dir)`,
    };
  }
  return {
    ok: true,
    what: `data dir ${dir} has no running worker (a LOCK left by pid ${left.pid}, which is gone: the next worker takes it over)`,
  };
}

export async function releaseLockCommand(s: Settings, json: boolean): Promise<number> {
  if (!existsSync(s.dir)) throw new CeleriacError('INVALID_CONFIG', `data dir ${s.dir} does not exist: no lock to release`);
  const released = await releaseStaleLock(s.dir);
  if (json) console.log(JSON.stringify({ released: released ?? null }));
  else
    console.log(
      released
        ? `released the LOCK of ${s.dir} left by pid ${released.pid} on ${released.host} (since ${released.since})`
        : `${s.dir} has no LOCK: nothing to release`,
    );
  return EXIT.ok;
}

export async function repairCommand(s: Settings, json: boolean): Promise<number> {
  if (!existsSync(s.dir)) throw new CeleriacError('INVALID_CONFIG', `data dir ${s.dir} does not exist: nothing to repair`);
  const report = await repairDataDir(s.dir);
  if (json) {
    console.log(JSON.stringify(report));
    return EXIT.ok;
  }
  for (const f of report.files) {
    const lost = f.damaged.map((d) => `bytes ${d.offset}–${d.offset + d.bytes - 1}`).join(', ');
    console.log(
      `${f.damaged.length || f.undecodable ? '✘' : '✔'} ${f.file}: ${f.keptRecords} record(s) intact${lost ? `; lost ${lost}` : ''}${f.undecodable ? `; ${f.undecodable} record(s) with a valid checksum did not decode` : ''}`,
    );
  }
  if (report.clean) console.log(`\nno damage found: ${s.dir} was left as it was (${report.jobs} job(s)).`);
  else
    console.log(
      `\nrepaired: ${report.jobs} job(s) kept in a fresh snapshot; the damaged files were copied to:\n${report.movedAside.map((f) => `  ${f}`).join('\n')}`,
    );
  return EXIT.ok;
}
