// Marks: small durable values by key that a backend keeps beside its jobs (a periodic
// schedule's last slot). Every backend checks them the same way.
import { CeleriacError } from '../errors.js';

/** Longest key, in characters. */
export const MAX_MARK_KEY_CHARS = 256;
/** Largest value, in bytes of UTF-8: a mark is rewritten into every snapshot. */
export const MAX_MARK_VALUE_BYTES = 64 * 1024;

export function checkMarkKey(key: unknown, caller: string): asserts key is string {
  if (typeof key !== 'string' || key === '' || key.length > MAX_MARK_KEY_CHARS) {
    throw new CeleriacError(
      'INVALID_ARGS',
      `${caller}: the key must be a non-empty string of at most ${MAX_MARK_KEY_CHARS} characters, got ${typeof key === 'string' ? `${key.length} characters` : typeof key}`,
    );
  }
}

export function checkMarkValue(key: string, value: unknown, caller: string): asserts value is string {
  if (typeof value !== 'string')
    throw new CeleriacError(
      'INVALID_ARGS',
      `${caller}: the value of mark "${key}" must be a string (JSON.stringify it), got ${typeof value}`,
    );
  const bytes = Buffer.byteLength(value);
  if (bytes > MAX_MARK_VALUE_BYTES)
    throw new CeleriacError(
      'INVALID_ARGS',
      `${caller}: the value of mark "${key}" is ${bytes} bytes, over the limit of ${MAX_MARK_VALUE_BYTES}: keep large data elsewhere and mark a reference to it`,
    );
}
