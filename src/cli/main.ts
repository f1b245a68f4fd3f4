#!/usr/bin/env node
// The `celeriac` command: the worker daemon and the job commands around it
// (`paster celeryd` and CKAN's `ckan jobs worker|list|show|cancel|clear|test`).
import { readFileSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { closest, distance } from 'fastest-levenshtein';
import { CeleriacError } from '../errors.js';
import { EXIT, settings, UsageError, type Flags } from './context.js';
import { exitWhenFlushed } from './exit.js';
import { optionFlagHelp, optionFlagSpecs } from './option-flags.js';
import { doctorCommand, releaseLockCommand, repairCommand, tasksCommand } from './commands/inspect.js';
import { cancelCommand, clearCommand, listCommand, sendCommand, showCommand, testCommand } from './commands/jobs.js';
import { schedulesCommand } from './commands/schedules.js';
import { workerCommand } from './commands/worker.js';
import { dashboardCommand, TOKEN_ENV, type DashboardFlags } from './commands/dashboard.js';
import { permissionMessage } from './permission.js';

const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

type Options = NonNullable<ParseArgsConfig['options']>;

const COMMON: Options = {
  config: { type: 'string', short: 'c' },
  ...optionFlagSpecs(false),
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
};

const COMMON_HELP = `Common options:
  -c, --config PATH     config file (default: celeriac.config.{ts,mts,mjs,js,json} in the working directory)
${optionFlagHelp(false, 24).join('\n')}
      --json            machine-readable output
  -h, --help            this help`;

interface Command {
  summary: string;
  usage: string;
  options: Options;
  details: string;
}

const COMMANDS: Record<string, Command> = {
  worker: {
    summary: 'run the worker daemon: print the loaded tasks, run jobs until stopped',
    usage: 'celeriac worker [--config PATH] [--watch] [--burst] [--concurrency N] [-Q QUEUES] [--loglevel LEVEL] [--log-format text|json]',
    options: {
      ...optionFlagSpecs(true),
      burst: { type: 'boolean', short: 'b', default: false },
      loglevel: { type: 'string', short: 'l' },
      'log-format': { type: 'string' },
    },
    details: `  -b, --burst                 run the jobs that are due, then exit 0
${optionFlagHelp(true, 30).join('\n')}
  -l, --loglevel LEVEL        info (default: a line per job received, succeeded, retried, failed),
                              warn (no line per job but failures), or error
      --log-format FORMAT     text (default) or json (one JSON object per line, for log shippers)

SIGTERM or SIGINT: warm shutdown (running jobs finish within the grace period, exit 0).
A second SIGINT: cold shutdown (running jobs are aborted and run again at the next start).`,
  },
  send: {
    summary: 'send a job by task name (works whether or not a worker runs)',
    usage: `celeriac send NAME [ARGS_JSON] [--id ID] [--countdown S] [--eta ISO] [--expires S|ISO] [--priority N] [--queue NAME]`,
    options: {
      id: { type: 'string' },
      countdown: { type: 'string' },
      eta: { type: 'string' },
      expires: { type: 'string' },
      priority: { type: 'string' },
      queue: { type: 'string' },
    },
    details: `ARGS_JSON is the JSON array of arguments, e.g. '["Hello World"]'; a JSON value that is
not an array is the single argument. Prints the job id. Durable once it returns.
--countdown and --expires take seconds or a duration such as 500ms, 5m, 1h; --eta and
--expires also take an ISO-8601 time.`,
  },
  list: {
    summary: 'list jobs, newest first',
    usage: 'celeriac list [--state STATE] [--limit N]',
    options: { state: { type: 'string', short: 's' }, limit: { type: 'string', short: 'n' } },
    details: `  -s, --state STATE   pending, started, retrying, succeeded, failed, cancelled or expired
  -n, --limit N       at most N jobs (default 50)`,
  },
  show: {
    summary: 'show one job: state, args, attempts, result or error',
    usage: 'celeriac show ID',
    options: {},
    details: 'Exit code 3 when no such job is on record.',
  },
  cancel: {
    summary: 'cancel a job that has not finished',
    usage: 'celeriac cancel ID',
    options: {},
    details: 'Exit code 3: no such job; 5: it already finished.',
  },
  clear: {
    summary: 'cancel waiting jobs, or drop finished ones',
    usage: 'celeriac clear [--state STATE ...]',
    options: { state: { type: 'string', short: 's', multiple: true } },
    details: `Without --state: cancel every pending and retrying job (like \`ckan jobs clear\`).
With --state: cancel jobs in the waiting states given, drop jobs in the finished states given.`,
  },
  tasks: {
    summary: 'list the tasks the configured modules and plugins define',
    usage: 'celeriac tasks',
    options: {},
    details: 'Discovery runs in a worker thread, as the worker does it.',
  },
  schedules: {
    summary: 'list the periodic schedules with their last and next run',
    usage: 'celeriac schedules [--json]',
    options: {},
    details:
      'Schedules from the task modules (schedule()) and the config ("schedules"); times in this\nmachine\'s time zone and in UTC. Works whether or not a worker runs.',
  },
  doctor: {
    summary: 'check why tasks would not show up, with fixes; --repair salvages a damaged data dir',
    usage: 'celeriac doctor [--repair | --release-lock]',
    options: { repair: { type: 'boolean', default: false }, 'release-lock': { type: 'boolean', default: false } },
    details: `Checks config, task paths, plugins, taskImports(), module imports (file:line), task names and the data dir.
      --repair   (no worker may run) keep every intact journal/snapshot record, copy damaged
                 files to <dir>/damaged-<time>/, write a fresh snapshot, and report every byte
                 range that was lost
      --release-lock  remove a LOCK left by a worker that no longer runs (e.g. on another
                 host: a replaced container); refused while a worker on this machine holds it`,
  },
  dashboard: {
    summary: 'serve the web dashboard for the data dir: jobs, tasks, throughput, live',
    usage: 'celeriac dashboard [--host 127.0.0.1] [--port 5555] [--read-only] [--token SECRET]',
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      'read-only': { type: 'boolean', default: false },
      token: { type: 'string' },
    },
    details: `      --host ADDR     address to listen on (default 127.0.0.1); any other needs a token
      --port N        port (default 5555; 0 picks a free one)
      --read-only     hide and refuse cancel, retry, forget and run-now
      --token SECRET  the login token (default: random, printed once as a link that logs in);
                      or set ${TOKEN_ENV}
Opens the data dir itself (no worker may run on it meanwhile). Stop with Ctrl-C.`,
  },
  test: {
    summary: 'send a test job and wait for a worker to run it (like `ckan jobs test`)',
    usage: 'celeriac test [--timeout SECONDS|DURATION]',
    options: { timeout: { type: 'string' } },
    details: `      --timeout S   how long to wait for the job: seconds or a duration such as 500ms, 2m (default 30)
Exit code 4 when the job does not succeed in time (is a worker running?).`,
  },
};

const EXIT_HELP = `Exit codes: 0 ok, 1 error, 2 usage error, 3 no such job, 4 test job failed or timed out, 5 job not cancelled.`;

function mainHelp(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  return `celeriac ${VERSION} — Celery-style background tasks for Node.js

Usage: celeriac <command> [options]

Commands:
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`)
  .join('\n')}

Run \`celeriac <command> --help\` for a command's options.

${COMMON_HELP}

${EXIT_HELP}`;
}

function commandHelp(c: Command): string {
  return `celeriac ${VERSION}: ${c.summary}\n\nUsage: ${c.usage}\n\n${c.details}\n\n${COMMON_HELP}\n\n${EXIT_HELP}`;
}

/** The command's data dir, once known: permission errors name its owner. */
let dataDir: string | undefined;

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(mainHelp());
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  if (name === '--version' || name === '-v') {
    console.log(VERSION);
    return EXIT.ok;
  }
  const command = COMMANDS[name];
  if (!command) {
    const near = name.startsWith('-') ? undefined : closest(name, Object.keys(COMMANDS));
    const hint = near && distance(name, near) <= Math.max(2, Math.floor(near.length / 2)) ? `did you mean "${near}"? ` : '';
    throw new UsageError(`unknown command "${name}": ${hint}(commands: ${Object.keys(COMMANDS).join(', ')})`);
  }
  let parsed;
  try {
    parsed = parseArgs({ args: rest, options: { ...COMMON, ...command.options }, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(`${name}: ${(err as Error).message}`);
  }
  const values = parsed.values as Record<string, unknown>;
  if (values.help) {
    console.log(commandHelp(command));
    return EXIT.ok;
  }
  const positionals = parsed.positionals;
  const takes = name === 'send' ? 2 : name === 'show' || name === 'cancel' ? 1 : 0;
  if (positionals.length > takes) throw new UsageError(`${name}: unexpected argument "${positionals[takes]}"`);
  const json = values.json === true;
  // send's --queue names the job's queue, not the broker's BullMQ queue.
  const s = await settings(name === 'send' ? { ...values, queue: undefined } : (values as Flags));
  dataDir = s.dir;
  if (s.config.broker !== undefined && !['worker', 'doctor', 'tasks', 'test'].includes(name)) {
    // These commands read the data dir; on a broker they would show another store's jobs.
    throw new UsageError(
      `${name}: not available with a broker yet (only worker, doctor, tasks and test are); use the API on the broker instead: createCeleriac({ broker, tasks }) then list(), get(), cancel(), send()`,
    );
  }
  switch (name) {
    case 'worker':
      return workerCommand(s, {
        burst: values.burst === true,
        version: VERSION,
        loglevel: values.loglevel as string | undefined,
        logFormat: values['log-format'] as string | undefined,
      });
    case 'send':
      return sendCommand(s, positionals, values as Record<string, string>, json);
    case 'list':
      return listCommand(s, values as { state?: string; limit?: string }, json);
    case 'show':
      return showCommand(s, positionals, json);
    case 'cancel':
      return cancelCommand(s, positionals, json);
    case 'clear':
      return clearCommand(s, values as { state?: string[] }, json);
    case 'tasks':
      return tasksCommand(s, json);
    case 'schedules':
      return schedulesCommand(s, json);
    case 'doctor':
      if (values['release-lock'] === true) return releaseLockCommand(s, json);
      return values.repair === true ? repairCommand(s, json) : doctorCommand(s, json);
    case 'dashboard':
      return dashboardCommand(s, values as DashboardFlags);
    case 'test':
      return testCommand(s, values as { timeout?: string }, json);
  }
  return EXIT.usage;
}

main(process.argv.slice(2)).then(
  (code) => exitWhenFlushed(code),
  (err: unknown) => {
    if (err instanceof UsageError) {
      process.stderr.write(`celeriac: ${err.message}\nRun \`celeriac --help\` for usage.\n`);
      return exitWhenFlushed(EXIT.usage);
    } else if (err instanceof CeleriacError) {
      process.stderr.write(`celeriac: ${err.message}\n`);
      return exitWhenFlushed(err.code === 'INVALID_CONFIG' ? EXIT.usage : EXIT.error);
    } else if (permissionMessage(err, dataDir)) {
      process.stderr.write(`celeriac: ${permissionMessage(err, dataDir)}\n`);
      return exitWhenFlushed(EXIT.error);
    } else {
      process.stderr.write(`celeriac: ${(err as Error)?.stack ?? String(err)}\n`);
      return exitWhenFlushed(EXIT.error);
    }
  },
);
