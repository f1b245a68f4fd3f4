// Where the scheduler keeps, per schedule, the last slot it handled: a small durable
// value by key, which every backend offers (readMark/writeMark; the file journal keeps
// them in its records and snapshot).
import { readStateReadOnly } from '../store/read-only.js';

export interface MarkStore {
  readMark(key: string): Promise<string | undefined>;
  /** Durable once the promise resolves. */
  writeMark(key: string, value: string): Promise<void>;
}

/** The marks of a file data dir, read without owning it (a worker may be running): for `celeriac schedules`. */
export async function readMarksReadOnly(dir: string): Promise<Map<string, string>> {
  const state = await readStateReadOnly(dir);
  return state?.marks ?? new Map();
}
