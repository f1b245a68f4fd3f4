// Turning whatever a task threw into a plain record that can cross to the host and be
// stored. Total: a task may throw anything (a Proxy, a revoked Proxy, an error whose
// getters throw, a cyclic cause chain), and a throw from here would take down the
// worker thread with every job in it, so each read is guarded on its own.
import type { SerializedError } from './errors.js';

/** Causes kept below the error itself: deeper links of a chain are dropped. */
export const MAX_CAUSE_DEPTH = 8;

export function serializeError(value: unknown): SerializedError {
  return serializeAt(value, 0, new Set());
}

function serializeAt(value: unknown, depth: number, seen: Set<unknown>): SerializedError {
  try {
    const out = isError(value) ? fromError(value as Error) : fromOther(value, depth);
    if (typeof value === 'object' && value !== null) seen.add(value);
    if (depth < MAX_CAUSE_DEPTH) {
      const cause = read(value, 'cause');
      if (cause.ok && cause.value !== undefined && !seen.has(cause.value)) out.cause = serializeAt(cause.value, depth + 1, seen);
    }
    return out;
  } catch (err) {
    return {
      name: 'UnreadableError',
      message: `${depth === 0 ? 'the task threw' : 'the cause is'} a value that cannot be read: ${describeFault(err)}`,
    };
  }
}

function fromError(e: Error): SerializedError {
  const name = read(e, 'name');
  const message = read(e, 'message');
  const out: SerializedError = {
    name: name.ok && typeof name.value === 'string' && name.value !== '' ? name.value : 'Error',
    message: !message.ok
      ? `(its message could not be read: ${describeFault(message.error)})`
      : typeof message.value === 'string'
        ? message.value
        : text(message.value),
  };
  const stack = read(e, 'stack');
  if (stack.ok && typeof stack.value === 'string') out.stack = stack.value;
  const code = read(e, 'code');
  if (code.ok && (typeof code.value === 'string' || (typeof code.value === 'number' && Number.isFinite(code.value))))
    out.code = String(code.value);
  return out;
}

function fromOther(value: unknown, depth: number): SerializedError {
  const shown = typeof value === 'string' ? JSON.stringify(value) : text(value);
  return { name: 'NonErrorThrown', message: `${depth === 0 ? 'the task threw' : 'the cause is'} a non-Error value: ${shown}` };
}

function isError(value: unknown): boolean {
  try {
    return value instanceof Error;
  } catch {
    return false;
  }
}

type Read = { ok: true; value: unknown } | { ok: false; error: unknown };

function read(value: unknown, key: string): Read {
  if ((typeof value !== 'object' && typeof value !== 'function') || value === null) return { ok: true, value: undefined };
  try {
    return { ok: true, value: (value as Record<string, unknown>)[key] };
  } catch (error) {
    return { ok: false, error };
  }
}

/** A value as text, or its type tag when even that fails. */
function text(value: unknown): string {
  try {
    return String(value);
  } catch {
    try {
      return Object.prototype.toString.call(value);
    } catch {
      return typeof value;
    }
  }
}

/** What went wrong reading a value, itself read with care. */
function describeFault(err: unknown): string {
  if (!isError(err)) return text(err);
  const name = read(err, 'name');
  const message = read(err, 'message');
  return `${name.ok ? text(name.value) : 'Error'}: ${message.ok ? text(message.value) : '?'}`;
}
