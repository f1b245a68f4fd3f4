// Named queues and routing: a job belongs to one queue (its task's `queue`, or the send's),
// and an app runs the queues its `queues` option names (every queue without it).
import type * as Levenshtein from 'fastest-levenshtein';
import { lazyPackage } from './lazy-package.js';
import { CeleriacError, type CeleriacErrorCode } from './errors.js';
import { isPlainObject } from './validate.js';

const levenshtein = lazyPackage<typeof Levenshtein>('fastest-levenshtein');

export const DEFAULT_QUEUE = 'default';
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;

/** A queue name, or `code` saying where it was and what a name may hold. */
export function checkQueueName(name: unknown, where: string, code: CeleriacErrorCode): string {
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new CeleriacError(
      code,
      `${where}: a queue name is 1 to 64 letters, digits and _ . : - (starting with a letter or digit), got ${JSON.stringify(name) ?? String(name)}`,
    );
  }
  return name;
}

/** Queues this app runs, each with its concurrency (undefined: no cap of its own); undefined: every queue. */
export type ServedQueues = ReadonlyMap<string, number | undefined>;

/** `queues: ['io', 'default']` or `{ io: 8, default: 2 }` → the served queues. */
export function resolveQueues(option: unknown, where: string): ServedQueues | undefined {
  if (option === undefined) return undefined;
  const served = new Map<string, number | undefined>();
  if (Array.isArray(option)) {
    option.forEach((name, i) => served.set(checkQueueName(name, `${where}: queues[${i}]`, 'INVALID_CONFIG'), undefined));
  } else if (isPlainObject(option)) {
    for (const [name, n] of Object.entries(option as object)) {
      checkQueueName(name, `${where}: queues`, 'INVALID_CONFIG');
      if (!Number.isInteger(n) || (n as number) < 1)
        throw new CeleriacError(
          'INVALID_CONFIG',
          `${where}: queues.${name} (its concurrency) must be an integer ≥ 1, got ${JSON.stringify(n)}`,
        );
      served.set(name, n as number);
    }
  } else {
    throw new CeleriacError(
      'INVALID_CONFIG',
      `${where}: "queues" must be a list of queue names (["io", "default"]) or { name: concurrency } ({ io: 8, default: 2 })`,
    );
  }
  if (served.size === 0)
    throw new CeleriacError('INVALID_CONFIG', `${where}: "queues" is empty: this app would run no job; leave it out to run every queue`);
  return served;
}

/** `-Q io:8,default` → { io: 8, default: undefined } as createCeleriac takes it. */
export function parseQueuesFlag(text: string): string[] | Record<string, number> {
  const parts = text.split(',').map((p) => p.trim());
  if (!parts.some((p) => p.includes(':'))) return parts;
  const out: Record<string, number> = {};
  for (const p of parts) {
    const [name, n] = p.split(':');
    if (n === undefined)
      throw new CeleriacError('INVALID_CONFIG', `-Q ${text}: give every queue a concurrency (io:8,default:2) or none (io,default)`);
    out[name!] = Number(n);
  }
  return out;
}

export function unknownQueueError(name: string, known: Iterable<string>, where: string): CeleriacError {
  const names = [...new Set(known)].sort();
  return new CeleriacError(
    'UNKNOWN_QUEUE',
    `${where}: unknown queue "${name}": did you mean "${levenshtein().closest(name, names)}"? (known queues: ${names.join(', ')}: "default", the tasks' queue options and this app's "queues")`,
  );
}
