// The errors for a task that is not there or is called with the wrong number of
// arguments: a send's, a schedule's (checked in the worker thread that loads the task
// modules, which need not load the send path) and a client's.
import type * as Levenshtein from 'fastest-levenshtein';
import { CeleriacError } from '../errors.js';
import { lazyPackage } from '../lazy-package.js';
import { signature } from './signature.js';
import type { TaskManifestEntry } from './types.js';

const levenshtein = lazyPackage<typeof Levenshtein>('fastest-levenshtein');

export function unknownTaskError(name: string, known: Iterable<string>, modules: string[]): CeleriacError {
  const names = [...known];
  if (names.length === 0) {
    return new CeleriacError(
      'UNKNOWN_TASK',
      `unknown task "${name}": no tasks are loaded (task modules: ${modules.length ? modules.join(', ') : 'none'}). Check the "tasks" option.`,
    );
  }
  const near = levenshtein().closest(name, names);
  return new CeleriacError(
    'UNKNOWN_TASK',
    `unknown task "${name}": did you mean "${near}"? (known tasks: ${names.slice(0, 20).join(', ')}${names.length > 20 ? ', …' : ''})`,
  );
}

/** Too many or too few arguments for the task's declared parameters (when they could be read). */
export function checkArgCount(task: TaskManifestEntry, args: unknown[], caller = 'send', path = 'args'): void {
  const p = task.params;
  if (!p || (args.length >= p.min && (p.max === null || args.length <= p.max))) return;
  const takes = p.max === null ? `at least ${p.min}` : p.min === p.max ? `${p.min}` : `${p.min} to ${p.max}`;
  const shown = JSON.stringify(args);
  throw new CeleriacError(
    'INVALID_ARGS',
    `${caller}(${task.name}): ${path === 'args' ? '' : `${path}: `}${signature(task.name, p)} takes ${takes} argument${(p.max ?? p.min) === 1 ? '' : 's'}, got ${args.length}: ${shown.length > 200 ? `${shown.slice(0, 199)}…` : shown}${task.file ? ` (defined at ${task.file}:${task.line})` : ''}`,
  );
}
