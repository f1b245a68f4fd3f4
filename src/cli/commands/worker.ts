// `celeriac worker`: the daemon (`paster celeryd`). Prints a banner with every task,
// runs until SIGTERM/SIGINT (warm shutdown: running jobs finish within the grace
// period); a second SIGINT is a cold shutdown (running jobs are aborted and run again,
// flagged recovered, at the next start). `--burst` runs what is due and exits.
import { createCeleriac, type Celeriac } from '../../app.js';
import { CeleriacError } from '../../errors.js';
import { EXIT, needTasks, type Settings } from '../context.js';

export async function workerCommand(s: Settings, opts: { burst: boolean; version: string }): Promise<number> {
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
  let fatal: CeleriacError | undefined;
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
    // The app closed itself (its data dir was lost): exit non-zero so that a supervisor restarts the worker.
    const onFatal = (err: CeleriacError) => {
      fatal = err;
      stopping = true;
      closing!(Promise.resolve());
    };
    app = await createCeleriac({ ...config, dir: s.dir, cwd: s.cwd, start: true, signal: opening.signal, onFatal, ...(watch ? { watch } : {}) });
  } catch (err) {
    if (!(opening.signal.aborted && err instanceof CeleriacError && err.code === 'APP_CLOSED')) throw err;
    console.log('worker stopped');
    return EXIT.ok;
  }
  printBanner(app, s, opts.version);
  if (stopping) close(); // the signal came as the open completed
  else if (opts.burst) {
    await app.idle();
    await app.close();
    console.log('burst: no job is due any more; exiting');
    return EXIT.ok;
  }
  await (await closed);
  if (fatal) {
    process.stderr.write(`celeriac: worker stopped: ${fatal.message}\n`);
    return EXIT.error;
  }
  console.log('worker stopped');
  return EXIT.ok;
}

function jobsLine(app: Celeriac): string {
  // As found on disk: the first jobs may already be running by the time the banner prints.
  const c = app.recovery.found;
  const parts = [`${c.pending} pending`, `${c.retrying} retrying`, `${c.finished} finished`];
  if (app.recovery.interrupted) parts.push(`${app.recovery.interrupted} interrupted by the last stop (they run again, flagged recovered)`);
  return parts.join(', ');
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
  ];
  console.log(lines.join('\n'));
}
