// What a task may report through context().progress(): a percentage or a small JSON
// object. Checked in the worker thread, where the task can still catch the error.
import { CeleriacError } from './errors.js';
import { isPlainObject, jsonProblem } from './validate.js';

/** Largest progress object, in bytes of JSON: progress is shown and journaled, not a data channel. */
export const MAX_PROGRESS_BYTES = 4096;

/** The JSON text of a progress value, or INVALID_PROGRESS naming the task and what is wrong. */
export function progressJson(value: unknown, task: string): string {
  const bad = (why: string) =>
    new CeleriacError(
      'INVALID_PROGRESS',
      `${task}: context().progress(): ${why}; pass a number from 0 to 100 or a plain object of JSON values (at most ${MAX_PROGRESS_BYTES} bytes)`,
    );
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0 || value > 100) throw bad(`${String(value)} is not a percentage`);
    return JSON.stringify(value);
  }
  if (!isPlainObject(value)) throw bad(`got ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}`);
  const problem = jsonProblem(value, 'the progress value');
  if (problem) throw bad(problem);
  const json = JSON.stringify(value);
  const bytes = Buffer.byteLength(json);
  if (bytes > MAX_PROGRESS_BYTES) throw bad(`the object is ${bytes} bytes of JSON`);
  return json;
}
