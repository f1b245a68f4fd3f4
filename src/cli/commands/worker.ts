// `celeriac worker`: the daemon (`paster celeryd`). Prints a banner with every task,
// runs until SIGTERM/SIGINT (warm shutdown: running jobs finish within the grace
// period); a second SIGINT is a cold shutdown (running jobs are aborted and run again,
// flagged recovered, at the next start). `--burst` runs what is due and exits.
import { createCeleriac, type Celeriac } from '../../app.js';
import { CeleriacError } from '../../errors.js';
import { EXIT, needTasks, UsageError, type Settings } from '../context.js';
import { localAndUtc } from '../when.js';
import { LOG_FORMATS, LOG_LEVELS, workerLog, type LogFormat } from '../worker-log.js';

function oneOf<T extends string>(flag: string, value: string | undefined, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(value))
    throw new UsageError(`--${flag} must be one of ${allowed.join(', ')}; got "${value}"`);
  return value as T;
}

export async function workerCommand(
  s: Settings,
  opts: { burst: boolean; version: string; loglevel?: string | undefined; logFormat?: string | undefined },
): Promise<number> {
  const log = workerLog(
    oneOf('loglevel', opts.loglevel?.toLowerCase(), LOG_LEVELS, 'info'),
    oneOf<LogFormat>('log-format', opts.logFormat, LOG_FORMATS, 'text'),
  );
  needTasks(s);
  const { watch, ...config } = s.config;
  // Signals are handled from the start: with many jobs pending, the first jobs run while
  // the data dir is still being read (createCeleriac below); a SIGTERM then aborts the
  // open, which stops taking work and lets the running jobs finish.
  const opening = new AbortController();
  let app: Celeriac | undefined;
  let stopping = false;
  let closing: ((done: Promise<void>) => void) | undefined;
  const closed = new Promise<Promise<void>>((resolve) => (closing = resolve));
  const close = (timeout?: number) => closing!(app!.close(timeout === undefined ? {} : { timeout }));
  const onSignal = (name: string) => {
    if (!stopping) {
      stopping = true;
      console.log(`${name}: warm shutdown — finishing running jobs (send SIGINT again for a cold shutdown)`);
      if (app) void close();
      else opening.abort();
    } else if (name === 'SIGINT') {
      // Only a second Ctrl-C means "now": process managers may send TERM more than once.
      console.log(`${name}: cold shutdown — aborting running jobs; they run again at the next start`);
      if (app) void close(0);
      else process.exit(EXIT.ok); // still opening: as after a kill, the jobs that were running run again, flagged recovered
    } else console.log(`${name}: already shutting down warm (send SIGINT for a cold shutdown)`);
  };
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));

  // The worker threads start while the journal is read (start: true): the first job runs
  // sooner after a restart with many jobs pending.
  try {
    app = await createCeleriac({
      ...config,
      ...(config.broker ? {} : { dir: s.dir }),
      cwd: s.cwd,
      start: true,
      signal: opening.signal,
      logger: log,
      logJobs: true,
      ...(watch ? { watch } : {}),
    });
  } catch (err) {
    if (!(opening.signal.aborted && err instanceof CeleriacError && err.code === 'APP_CLOSED')) throw err;
    console.log('worker stopped');
    return EXIT.ok;
  }
  printBanner(app, s, opts.version);
  // The data dir failed (an I/O error on the journal) or is no longer this worker's: the
  // app has stopped itself; exit non-zero so that a supervisor restarts the worker.
  const storeFailed = app.failed.then((err) => {
    console.error(`celeriac worker: ${err.message}`);
    return EXIT.error;
  });
  if (stopping)
    close(); // the signal came as the open completed
  else if (opts.burst) {
    const burst = app.idle().then(async () => {
      await app!.close();
      // A failure stops the app, which then has nothing due: idle() resolves too.
      const failure = app!.failedWith;
      if (failure) {
        console.error(`celeriac worker: ${failure.message}`);
        return EXIT.error;
      }
      const { succeeded, failed, retried } = log.tally;
      console.log(
        `burst: no job is due any more; ran ${succeeded + failed + retried} job(s): ${succeeded} succeeded, ${failed} failed, ${retried} retried (scheduled again); exiting`,
      );
      return EXIT.ok;
    });
    return Promise.race([burst, storeFailed]);
  }
  return Promise.race([
    closed.then(async (done) => {
      await done;
      console.log('worker stopped');
      return EXIT.ok;
    }),
    storeFailed,
  ]);
}

function jobsLine(app: Celeriac): string {
  // As found on disk: the first jobs may already be running by the time the banner prints.
  const c = app.recovery.found;
  const parts = [`${c.pending} pending`, `${c.retrying} retrying`, `${c.finished} finished`];
  if (app.recovery.interrupted) parts.push(`${app.recovery.interrupted} interrupted by the last stop (they run again, flagged recovered)`);
  return parts.join(', ');
}

function scheduleLines(app: Celeriac): string[] {
  const all = app.schedules;
  if (all.length === 0) return [];
  const width = Math.max(...all.map((s) => s.name.length));
  const when = (s: (typeof all)[number]) => (s.pattern.startsWith('every') || s.tz === 'UTC' ? s.pattern : `${s.pattern} (${s.tz})`);
  return [
    '[schedules]',
    ...all.map((s) => `  . ${s.name.padEnd(width)}  ${when(s)} → ${s.task}, next ${localAndUtc(s.nextRun) || 'none'}`),
    '',
  ];
}

function printBanner(app: Celeriac, s: Settings, version: string): void {
  const width = Math.max(...app.tasks.map((t) => t.name.length), 4);
  const lines = [
    ` -------------- celeriac@${version} worker (pid ${process.pid})`,
    `--- config:     ${s.configFile ?? '(none: flags and defaults)'}`,
    `--- data dir:   ${app.dir}`,
    `--- pool:       ${app.poolSize} worker thread(s)${s.config.watch ? ', watching task modules for changes' : ''}`,
    `--- jobs:       ${jobsLine(app)}`,
    '',
    '[tasks]',
    ...app.tasks.map((t) => `  . ${t.name.padEnd(width)}  ${t.file}:${t.line}${t.plugin ? `  (plugin ${t.plugin})` : ''}`),
    '',
    ...scheduleLines(app),
  ];
  console.log(lines.join('\n'));
}
