// The canvas (Celery's names): signatures, chains, groups and chords, built in the host
// as plain data and checked as they are built. Sending one is app.sendWorkflow().
import { CeleriacError } from '../errors.js';

/** A task and some of its arguments: in a chain, the previous step's result is prepended (Celery's partial signature). */
export interface Signature {
  readonly kind: 'signature';
  readonly task: string;
  readonly args: readonly unknown[];
}

/** Steps run one after another; each gets the previous step's result as its first argument. */
export interface Chain {
  readonly kind: 'chain';
  readonly steps: readonly Signature[];
}

/** Members run in parallel; the result is the list of their results, in order. */
export interface Group {
  readonly kind: 'group';
  readonly members: readonly (Signature | Chain)[];
}

/** A group, then a callback run once with the list of the members' results as its first argument, after every member succeeded. */
export interface Chord {
  readonly kind: 'chord';
  readonly header: Group;
  readonly callback: Signature;
}

export type Workflow = Signature | Chain | Group | Chord;

const kindOf = (v: unknown): string | undefined =>
  typeof v === 'object' && v !== null ? ((v as { kind?: unknown }).kind as string) : undefined;
const describe = (v: unknown) => (kindOf(v) ? `a ${kindOf(v)}` : v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v);

/** `signature('name', args)`; the same as `myTask.s(...args)`. */
export function signature(task: string | { readonly name: string }, args: readonly unknown[] = []): Signature {
  const name = typeof task === 'string' ? task : task?.name;
  if (typeof name !== 'string' || name === '')
    throw new CeleriacError('INVALID_WORKFLOW', `signature(): the task must be a task name or a task definition, got ${describe(task)}`);
  if (!Array.isArray(args))
    throw new CeleriacError('INVALID_WORKFLOW', `signature(${name}): args must be an array of arguments, got ${describe(args)}`);
  return { kind: 'signature', task: name, args: [...args] };
}

/** `chain(a.s(1), b.s(), c.s())`: a.s(1)'s result becomes b's first argument, and so on. */
export function chain(...steps: Signature[]): Chain {
  if (steps.length === 0)
    throw new CeleriacError('INVALID_WORKFLOW', 'chain(): no steps: give at least one signature, e.g. chain(fetch.s(url), checksum.s())');
  steps.forEach((s, i) => {
    if (kindOf(s) !== 'signature')
      throw new CeleriacError(
        'INVALID_WORKFLOW',
        `chain(): step ${i + 1} is ${describe(s)}, not a signature (myTask.s(...args) or signature('name', args)); groups and chords cannot be chain steps`,
      );
  });
  return { kind: 'chain', steps: [...steps] };
}

/** `group([a.s(1), a.s(2)])`: parallel; members may be signatures or chains. */
export function group(members: (Signature | Chain)[]): Group {
  if (!Array.isArray(members))
    throw new CeleriacError('INVALID_WORKFLOW', `group(): expected an array of signatures or chains, got ${describe(members)}`);
  if (members.length === 0) throw new CeleriacError('INVALID_WORKFLOW', 'group(): no members: give at least one signature or chain');
  members.forEach((m, i) => {
    const k = kindOf(m);
    if (k !== 'signature' && k !== 'chain')
      throw new CeleriacError('INVALID_WORKFLOW', `group(): member ${i + 1} is ${describe(m)}, not a signature or a chain`);
  });
  return { kind: 'group', members: [...members] };
}

/** `chord(group([...]), summary.s())`: the callback runs once, after every member succeeded, with their results. */
export function chord(header: Group | (Signature | Chain)[], callback: Signature): Chord {
  const g = Array.isArray(header) ? (header.length === 0 ? undefined : group(header)) : header;
  if (!g || kindOf(g) !== 'group' || (g as Group).members.length === 0) {
    throw new CeleriacError(
      'INVALID_WORKFLOW',
      `chord(): the header must be a group of at least one task (a chord over zero tasks would never call its callback), got ${Array.isArray(header) ? 'an empty list' : describe(header)}`,
    );
  }
  if (kindOf(callback) !== 'signature')
    throw new CeleriacError('INVALID_WORKFLOW', `chord(): the callback must be a signature (summary.s()), got ${describe(callback)}`);
  return { kind: 'chord', header: g, callback };
}

export function isWorkflow(v: unknown): v is Workflow {
  const k = kindOf(v);
  return k === 'signature' || k === 'chain' || k === 'group' || k === 'chord';
}
