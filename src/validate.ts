import { CeleriacError } from './errors.js';

/** A dotted identifier: `demo.echo`, `archiver.update`, `ckanext-webhooks.notify`. */
const TASK_NAME = /^[A-Za-z_][\w-]*(?:\.[A-Za-z_][\w-]*)*$/;
const MAX_TASK_NAME = 200;

export function checkTaskName(name: unknown, where: string): asserts name is string {
  if (typeof name !== 'string' || name.length > MAX_TASK_NAME || !TASK_NAME.test(name)) {
    throw new CeleriacError(
      'INVALID_TASK_NAME',
      `${where}: invalid task name ${JSON.stringify(name)}: use dotted identifiers such as "demo.echo" ` +
        `(letters, digits, _ and -; segments separated by dots; at most ${MAX_TASK_NAME} characters)`,
    );
  }
}

/** How deep arguments may nest: far below what JSON.stringify and a worker's JSON.parse can take. */
export const MAX_DEPTH = 1000;

/**
 * Why `value` would not survive a JSON round trip unchanged, with the path to the
 * offending part (`args[1].when`), or undefined when it would. Journal records are
 * JSON, so anything JSON would silently alter (undefined, NaN, -0, Dates, class
 * instances, symbol keys, extra properties on arrays) is refused instead of being changed
 * behind the caller's back.
 */
export function jsonProblem(value: unknown, path: string, seen: Set<object> | undefined = new Set()): string | undefined {
  return problemAt(value, path, seen, 0);
}

/**
 * The JSON text of `value`, or the reason it cannot be sent (see jsonProblem). Hot path
 * of every send: JSON.stringify runs first (it rejects cycles and BigInt by itself), so
 * the walk that follows needs no cycle bookkeeping.
 */
export function toJson(value: unknown, path: string): { json: string } | { problem: string } {
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch {
    return { problem: jsonProblem(value, path) ?? `${path} cannot be converted to JSON` };
  }
  const problem = problemAt(value, path, undefined, 0);
  return problem ? { problem } : json === undefined ? { problem: `${path} is undefined` } : { json };
}

function problemAt(value: unknown, path: string, seen: Set<object> | undefined, depth: number): string | undefined {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return undefined;
    case 'number':
      if (Object.is(value, -0)) return `${path} is -0, which JSON turns into 0: pass 0`;
      return Number.isFinite(value) ? undefined : `${path} is ${value}, which JSON cannot represent`;
    case 'undefined':
      return `${path} is undefined: use null, or leave the property out`;
    case 'bigint':
      return `${path} is a BigInt: pass it as a string`;
    case 'function':
      return `${path} is a function: functions cannot be sent to a task`;
    case 'symbol':
      return `${path} is a symbol: symbols cannot be sent to a task`;
  }
  if (value === null) return undefined;
  const obj = value as object;
  if (seen?.has(obj)) return `${path} refers back to itself (a cycle): JSON cannot represent it`;
  if (depth >= MAX_DEPTH) return `${path.slice(0, 40)}… nests deeper than ${MAX_DEPTH} levels of arrays and objects: flatten it`;
  const symbol = Object.getOwnPropertySymbols(obj)[0];
  if (symbol !== undefined) return `${path} has a symbol key (${String(symbol)}), which JSON drops: use a string key`;
  if (Array.isArray(obj)) {
    // JSON keeps only the indices: a named property on an array would vanish.
    if (Object.keys(obj).length !== obj.length) {
      const extra = Object.keys(obj).find((k) => !/^(?:0|[1-9]\d*)$/.test(k));
      return extra === undefined
        ? `${path} has holes (a sparse array), which JSON turns into null: fill them`
        : `${path} is an array with a named property "${extra}", which JSON drops: pass an object instead`;
    }
    seen?.add(obj);
    for (let i = 0; i < obj.length; i++) {
      const item: unknown = obj[i];
      // Paths are built only when something is wrong: strings and numbers need no descent.
      if (
        typeof item === 'string' ||
        typeof item === 'boolean' ||
        (typeof item === 'number' && Number.isFinite(item) && !Object.is(item, -0)) ||
        item === null
      )
        continue;
      const p = problemAt(item, `${path}[${i}]`, seen, depth + 1);
      if (p) return p;
    }
    seen?.delete(obj);
    return undefined;
  }
  const proto = Object.getPrototypeOf(obj);
  if (proto !== Object.prototype && proto !== null) {
    const kind =
      obj instanceof Date
        ? 'a Date: pass date.toISOString()'
        : `an instance of ${proto?.constructor?.name ?? 'a class'}: pass a plain object`;
    return `${path} is ${kind}`;
  }
  seen?.add(obj);
  for (const key in obj) {
    const v = (obj as Record<string, unknown>)[key];
    if (typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v) && !Object.is(v, -0)) || v === null)
      continue;
    const p = problemAt(v, /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`, seen, depth + 1);
    if (p) return p;
  }
  seen?.delete(obj);
  return undefined;
}

/** Check the keys of an options object against the known ones, naming the stray key. */
export function checkKnownKeys(
  options: object,
  known: readonly string[],
  code: 'INVALID_TASK_OPTIONS' | 'INVALID_SEND_OPTIONS' | 'INVALID_CONFIG' | 'INVALID_SCHEDULE' | 'INVALID_ARGS',
  where: string,
): void {
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw new CeleriacError(code, `${where}: unknown option "${key}" (known options: ${known.join(', ')})`);
    }
  }
}

export function isPlainObject(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
