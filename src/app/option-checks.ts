// The checks an option's value goes through, wherever it was given (createCeleriac(), a
// config file, a CLI flag): each returns what the app uses, or throws INVALID_CONFIG
// naming the option where it was given and the value as the user wrote it.
import { CeleriacError } from '../errors.js';
import { durationMs } from '../time.js';

/** Where an option's value came from, as its error names it. */
export interface OptionSite {
  /** `createCeleriac()`, a config file's path, or a flag (`--queues`). */
  where: string;
  /** The option in a message: `createCeleriac(): "prefetch"`, `/srv/app/celeriac.config.json: "prefetch"`, `--prefetch`. */
  label: string;
  /** The option as a location (of a schedule in it): `createCeleriac() option "schedules"`, `/srv/app/celeriac.config.json ("schedules")`. */
  place: string;
  /** The value as the user wrote it, when that was text (a flag's): `"0"`. */
  shown?: string;
}

/** An option given to createCeleriac(). */
export function codeSite(key: string): OptionSite {
  return { where: 'createCeleriac()', label: `createCeleriac(): "${key}"`, place: `createCeleriac() option "${key}"` };
}

/** An option set in a config file. */
export function fileSite(file: string, key: string): OptionSite {
  return { where: file, label: `${file}: "${key}"`, place: `${file} ("${key}")` };
}

/** A CLI flag's value (its text, or the texts of a repeated flag): the error names the flag and quotes the text. */
export function flagSite(flag: string, given: unknown): OptionSite {
  return { where: `--${flag}`, label: `--${flag}`, place: `--${flag}`, shown: JSON.stringify(given) };
}

function show(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'symbol') return String(value);
  if (typeof value === 'function') return 'a function';
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

export function invalid(at: OptionSite, must: string, value: unknown): never {
  throw new CeleriacError('INVALID_CONFIG', `${at.label} ${must}, got ${at.shown ?? show(value)}`);
}

export type Check<T> = (value: unknown, at: OptionSite) => T;

export const positiveInt =
  (max = Number.MAX_SAFE_INTEGER): Check<number> =>
  (value, at) => {
    if (!Number.isInteger(value) || (value as number) < 1) invalid(at, 'must be an integer ≥ 1', value);
    if ((value as number) > max) invalid(at, `must be at most ${max}`, value);
    return value as number;
  };

/** Seconds or a duration string, in milliseconds (src/time.ts's rule, as every duration in the API). */
export const duration: Check<number> = (value, at) => {
  try {
    return durationMs(value, at.label);
  } catch (err) {
    throw new CeleriacError('INVALID_CONFIG', (err as Error).message);
  }
};

export const boolean: Check<boolean> = (value, at) => (typeof value === 'boolean' ? value : invalid(at, 'must be true or false', value));

export const nonEmptyString: Check<string> = (value, at) =>
  typeof value === 'string' && value !== '' ? value : invalid(at, 'must be a non-empty string', value);

export const stringList: Check<string[]> = (value, at) =>
  Array.isArray(value) && value.every((x) => typeof x === 'string' && x !== '')
    ? (value as string[])
    : invalid(at, 'must be a list of strings', value);

/** One path or a list of them. */
export const pathOrPaths: Check<string[]> = (value, at) =>
  typeof value === 'string' && value !== ''
    ? [value]
    : Array.isArray(value) && value.every((x) => typeof x === 'string' && x !== '')
      ? (value as string[])
      : invalid(at, 'must be a path or a list of paths (task module files or directories)', value);
