// The durable links between a workflow's jobs, kept on each job (journal key "l", see
// docs/on-disk-format-workflows.md), and what a finished job sets off. Pure: the live path and the
// repair at an open compute the same follow-ups, and every follow-up has an id derived
// from the workflow's, so creating one twice is impossible (ids dedupe).
import type { JobRecord } from '../jobs.js';

/** A step not yet created: task name and the JSON text of its own arguments. */
export interface LinkSignature {
  n: string;
  a: string;
}

export interface WorkflowLink {
  /** The chain this job is a step of: step `i` has the id `${c}.${i}`. */
  c: string;
  i: number;
  /** The steps after this one. */
  next?: LinkSignature[];
  /** The chord this job's chain belongs to: once every final step succeeded, the callback `${id}.cb` is created. */
  chord?: { id: string; finals: string[]; cb: LinkSignature };
}

/** A job a finished one calls for. */
export interface FollowUp {
  id: string;
  task: string;
  /** JSON text of the argument array. */
  args: string;
  link?: WorkflowLink;
}

export const stepId = (chainId: string, i: number) => `${chainId}.${i}`;
export const callbackId = (chordId: string) => `${chordId}.cb`;

const resultOf = (job: JobRecord): unknown => (job.result === undefined ? null : JSON.parse(job.result));

/** What a succeeded job with a link calls for: the next step of its chain, or its chord's callback once all members succeeded. */
export function followUps(job: JobRecord, jobs: ReadonlyMap<string, JobRecord>): FollowUp[] {
  if (job.state !== 'succeeded' || job.link === undefined) return [];
  const link = JSON.parse(job.link) as WorkflowLink;
  if (link.next && link.next.length > 0) {
    const [sig, ...rest] = link.next;
    const next: WorkflowLink = { c: link.c, i: link.i + 1 };
    if (rest.length > 0) next.next = rest;
    if (link.chord) next.chord = link.chord;
    return [{ id: stepId(link.c, link.i + 1), task: sig!.n, args: prepend(resultOf(job), sig!.a), link: next }];
  }
  if (link.chord) {
    const finals = link.chord.finals.map((id) => jobs.get(id));
    if (!finals.every((j) => j?.state === 'succeeded')) return [];
    return [
      {
        id: callbackId(link.chord.id),
        task: link.chord.cb.n,
        args: prepend(
          finals.map((j) => resultOf(j!)),
          link.chord.cb.a,
        ),
      },
    ];
  }
  return [];
}

/** `[first, ...args]` as JSON text, from the JSON text of args. */
function prepend(first: unknown, argsJson: string): string {
  const rest = argsJson.slice(1, -1).trim();
  const head = JSON.stringify(first);
  return rest === '' ? `[${head}]` : `[${head},${rest}]`;
}
