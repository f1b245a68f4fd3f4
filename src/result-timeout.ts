// result({ timeout }): how long a caller waits for a job's result, checked once for the
// app, a workflow's handle and the client. Seconds or "500ms", as every duration.
import { CeleriacError } from './errors.js';
import type { ResultOptions } from './send-types.js';
import { timerMs } from './time.js';
import { checkKnownKeys, isPlainObject } from './validate.js';

const RESULT_OPTION_KEYS = ['timeout'] as const;

/** The wait in milliseconds (undefined: no limit), or INVALID_ARGS naming `where` and the option. */
export function resultTimeoutMs(options: ResultOptions | undefined, where: string): number | undefined {
  if (options === undefined) return undefined;
  if (!isPlainObject(options))
    throw new CeleriacError('INVALID_ARGS', `${where}: options must be a plain object such as { timeout: 30 }, got ${typeof options}`);
  checkKnownKeys(options, RESULT_OPTION_KEYS, 'INVALID_ARGS', where);
  if (options.timeout === undefined) return undefined;
  try {
    return timerMs(options.timeout, 'timeout');
  } catch (err) {
    throw new CeleriacError('INVALID_ARGS', `${where}: ${(err as Error).message}`);
  }
}
