// `celeriac worker`'s log: one line per message, text for people or JSON for log
// shippers (`--log-format json`), filtered by `--loglevel`. It is a pino-style logger for
// the app (it has child()), so per-job lines arrive with their fields.
import type { Level, StructuredLogger } from '../log.js';

export const LOG_LEVELS = ['info', 'warn', 'error'] as const;
export const LOG_FORMATS = ['text', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

const RANK: Record<Level, number> = { info: 0, warn: 1, error: 2 };

export interface WorkerLog extends StructuredLogger {
  /** Per-job outcomes seen so far, whatever the level shows: what `--burst` reports at the end. */
  readonly tally: { succeeded: number; failed: number; retried: number };
}

export function workerLog(level: Level, format: LogFormat): WorkerLog {
  const tally = { succeeded: 0, failed: 0, retried: 0 };
  const write = (at: Level, fieldsOrMessage: object | string, message?: string) => {
    const fields = (typeof fieldsOrMessage === 'string' ? {} : fieldsOrMessage) as Record<string, unknown>;
    const msg = typeof fieldsOrMessage === 'string' ? fieldsOrMessage : (message ?? '');
    const event = fields.event;
    if (event === 'succeeded' || event === 'failed' || event === 'retried') tally[event]++;
    if (RANK[at] < RANK[level]) return;
    const time = new Date().toISOString();
    const line = format === 'json' ? JSON.stringify({ time, level: at, msg, ...fields }) : `[${time} ${at.toUpperCase()}] ${msg}`;
    (at === 'info' ? process.stdout : process.stderr).write(`${line}\n`);
  };
  const log: WorkerLog = {
    tally,
    info: (f: object | string, m?: string) => write('info', f, m),
    warn: (f: object | string, m?: string) => write('warn', f, m),
    error: (f: object | string, m?: string) => write('error', f, m),
    child: () => log,
  };
  return log;
}
