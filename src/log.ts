// Where celeriac's messages go: the app's `logger` option. Two shapes are accepted: a
// plain one (`info(message)`, like console) and a pino-style one (`info(fields, message)`,
// recognised by its `child()` method: pino, bunyan). Per-job lines (received, succeeded,
// retried, failed) are written only when asked for (`logJobs`).
import type { JobEvent, JobRecord } from './jobs.js';

export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** A pino-style logger: fields first, then the message. `child()` is how it is told apart from a plain one. */
export interface StructuredLogger {
  info(fields: object | string, message?: string): void;
  warn(fields: object | string, message?: string): void;
  error(fields: object | string, message?: string): void;
  child(bindings: object): unknown;
}

export type Level = 'info' | 'warn' | 'error';

/** What the app writes to: a message, with fields when there are any. */
export interface LogSink {
  log(level: Level, message: string, fields?: Record<string, unknown>): void;
}

export function isStructuredLogger(logger: unknown): logger is StructuredLogger {
  return typeof logger === 'object' && logger !== null && typeof (logger as { child?: unknown }).child === 'function';
}

/** The sink for a `logger` option (a plain or a pino-style logger; false for silence). */
export function sinkOf(logger: Logger | false | undefined): LogSink {
  if (logger === false) return { log() {} };
  if (logger === undefined) {
    return {
      log(level, message) {
        if (level === 'info') console.log(`[celeriac] ${message}`);
        else if (level === 'warn') console.warn(`[celeriac] ${message}`);
        else console.error(`[celeriac] ${message}`);
      },
    };
  }
  if (isStructuredLogger(logger)) {
    const structured: StructuredLogger = logger;
    return { log: (level, message, fields) => structured[level](fields ?? {}, message) };
  }
  return { log: (level, message) => logger[level](message) };
}

/** The plain-message view of a sink, for the parts of the app that only say sentences. */
export function plainLogger(sink: LogSink): Logger {
  return { info: (m) => sink.log('info', m), warn: (m) => sink.log('warn', m), error: (m) => sink.log('error', m) };
}

const clip = (text: string, max = 200) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

function seconds(ms: number): string {
  return ms < 1000 ? `${Math.round(ms * 10) / 10} ms` : `${Math.round(ms / 100) / 10} s`;
}

/** One line per job event, Celery's worker style: `demo.echo[<id>] succeeded in 3.1 ms: "hi"`. */
export class JobLog {
  constructor(private readonly sink: LogSink) {}

  received(job: JobRecord): void {
    const fields: Record<string, unknown> = { event: 'received', id: job.id, task: job.task };
    let note = '';
    if (job.runAt > Date.now()) {
      fields.eta = new Date(job.runAt).toISOString();
      note = ` (eta ${fields.eta as string})`;
    }
    this.sink.log('info', `${job.task}[${job.id}] received${note}`, fields);
  }

  /** An outcome just recorded (the job record already holds it). */
  recorded(job: JobRecord, ev: JobEvent, runMs: number | undefined): void {
    const base = {
      id: job.id,
      task: job.task,
      attempt: job.attempts,
      ...(runMs === undefined ? {} : { runMs: Math.round(runMs * 1000) / 1000 }),
    };
    const ran = runMs === undefined ? '' : ` in ${seconds(runMs)}`;
    switch (ev.type) {
      case 'succeed':
        this.sink.log('info', `${job.task}[${job.id}] succeeded${ran}: ${clip(ev.result ?? 'undefined')}`, { event: 'succeeded', ...base });
        return;
      case 'retry': {
        const countdownMs = Math.max(0, ev.runAt - ev.at);
        const reason = `${ev.error.name}: ${ev.error.message}`;
        this.sink.log(
          'info',
          `${job.task}[${job.id}] retry ${job.retries} due in ${seconds(countdownMs)}${runMs === undefined ? '' : ` (ran ${seconds(runMs)})`}: ${clip(reason)}`,
          { event: 'retried', ...base, retries: job.retries, countdownMs, reason: ev.error },
        );
        return;
      }
      case 'fail':
        // A failure is an error, as in Celery's worker: it shows at every log level.
        this.sink.log('error', `${job.task}[${job.id}] failed${ran}: ${clip(`${ev.error.name}: ${ev.error.message}`)}`, {
          event: 'failed',
          ...base,
          error: ev.error,
        });
        return;
      default:
        return;
    }
  }
}
