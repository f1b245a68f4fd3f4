// How a task's call signature reads in a message (a send with the wrong number of arguments).
import type { TaskParams } from './types.js';

/** `name(a, b = 1, ...rest)`: the signature as a message shows it. */
export function signature(name: string, params: TaskParams): string {
  const shown = params.list.map((p) => (p.length > 40 ? `${p.slice(0, 39)}…` : p));
  return `${name}(${shown.join(', ')})`;
}
