// Sending workflows and advancing them. A workflow is ordinary jobs whose records carry
// a link (link.ts): sending one writes its first jobs in one commit; each success then
// creates what it sets off (the next chain step, a chord's callback) in a commit of its
// own, right after its outcome is durable. A crash between the two loses nothing: at the
// next open, repair() derives the follow-ups of every succeeded job again, and since a
// follow-up's id is derived from the workflow's, one that exists is never made twice —
// a step is neither lost nor run twice, a chord's callback is created exactly once.
import { randomUUID } from 'node:crypto';
import { CeleriacError } from '../errors.js';
import { WAITING_STATES, type JobRecord, type NewJob } from '../jobs.js';
import type { TaskManifestEntry } from '../registry/types.js';
import { unseenTask } from '../registry/unseen-task.js';
import { checkId, encodeArgs, jobFactory } from '../send.js';
import type { ResultOptions } from '../send-types.js';
import { resultTimeoutMs } from '../result-timeout.js';
import { unparkedRecords } from '../store/job-table.js';
import type { JobStore } from '../store/types.js';
import type { Chain, Signature, Workflow } from './canvas.js';
import { isWorkflow } from './canvas.js';
import { callbackId, followUps, stepId, type FollowUp, type LinkSignature, type WorkflowLink } from './link.js';

export interface WorkflowHost {
  store: JobStore;
  schedule(job: JobRecord): void;
  task(name: string): TaskManifestEntry | undefined;
  unknownTask(name: string): CeleriacError;
  /** The backend's wait for a job's result (`timeoutMs`: milliseconds; undefined waits as long as it takes). */
  result(id: string, timeoutMs?: number): Promise<unknown>;
  log: { error(message: string): void };
}

export interface WorkflowSendOptions {
  /** The workflow's id; its jobs' ids derive from it (`<id>.0`, `<id>.1.0`, `<id>.cb`). Sending a known id again creates nothing. Default: a random UUID. */
  id?: string;
}

export interface WorkflowHandle<Result = unknown> {
  readonly id: string;
  /** False when this id was sent before and this send created nothing. */
  readonly created: boolean;
  /** Every job the workflow will have when it completes, by id (most are created as it advances). */
  readonly jobs: readonly string[];
  /**
   * A chain: its last step's result; a failure stops the chain and rejects with that step's
   * error. A group: the members' results in order. A chord: the callback's result.
   */
  result(options?: ResultOptions): Promise<Result>;
}

/** The jobs a workflow's handle waits for. */
type Shape =
  | { kind: 'chain'; ids: string[] }
  | { kind: 'group'; members: string[][] }
  | { kind: 'chord'; members: string[][]; callback: string };

const MAX_ID = 150;
/** A chord names its members' final jobs in each member's link: keep that list small enough to journal. */
const MAX_CHORD_MEMBERS = 10_000;
const POLL_MS = 20;

export class Workflows {
  /** Follow-ups being written, by job id: never written twice, and waited for by handles. */
  private readonly spawning = new Map<string, Promise<void>>();

  constructor(private readonly host: WorkflowHost) {}

  /** Follow-ups are being written (app.idle() waits for them). */
  get busy(): boolean {
    return this.spawning.size > 0;
  }

  /** Resolves once the follow-ups being written now are written (or failed: each failure is logged). */
  async written(): Promise<void> {
    await Promise.all(this.spawning.values());
  }

  async send(wf: Workflow, options: WorkflowSendOptions = {}): Promise<WorkflowHandle> {
    if (!isWorkflow(wf)) throw new CeleriacError('INVALID_WORKFLOW', 'sendWorkflow(): expected a signature, chain(), group() or chord()');
    const id = options.id ?? randomUUID();
    checkId('sendWorkflow', id);
    if (id.length > MAX_ID)
      throw new CeleriacError(
        'INVALID_SEND_OPTIONS',
        `sendWorkflow(): a workflow id is at most ${MAX_ID} characters (its jobs' ids add a suffix), got ${id.length}`,
      );
    const { first, shape } = this.plan(wf, id);
    const now = Date.now();
    const jobs = first.map((f) => this.toJob(f, now));
    const fresh = jobs.filter((j) => !this.host.store.jobs.has(j.id));
    if (fresh.length > 0) {
      await this.host.store.commit(fresh.map((job) => ({ type: 'add', job })));
      for (const j of fresh) this.scheduleIfWaiting(j.id);
    }
    const ids = shape.kind === 'chain' ? shape.ids : [...shape.members.flat(), ...(shape.kind === 'chord' ? [shape.callback] : [])];
    return { id, created: fresh.length > 0, jobs: ids, result: (o) => this.resultOf(shape, o) };
  }

  /** A job reached a final state (its outcome is durable): create what it sets off. */
  finished(job: JobRecord): void {
    if (job.state !== 'succeeded' || job.link === undefined) return;
    let specs: FollowUp[];
    try {
      specs = followUps(job, this.host.store.jobs);
    } catch (err) {
      this.host.log.error(
        `workflow: job ${job.id} has a link that cannot be read (${(err as Error).message}); what follows it is not created`,
      );
      return;
    }
    this.spawn(specs);
  }

  /** After an open: derive again what every succeeded job sets off, and create what a crash left out. */
  async repair(): Promise<void> {
    for (const job of unparkedRecords(this.host.store.jobs)) if (job.link !== undefined && job.state === 'succeeded') this.finished(job);
    await Promise.all(this.spawning.values());
  }

  private spawn(specs: FollowUp[]): void {
    const jobs = this.host.store.jobs;
    const fresh = specs.filter((s) => !jobs.has(s.id) && !this.spawning.has(s.id));
    if (fresh.length === 0) return;
    const now = Date.now();
    const made = fresh.map((s) => this.toJob(s, now));
    const writing = this.host.store
      .commit(made.map((job) => ({ type: 'add', job })))
      .then(
        () => made.forEach((j) => this.scheduleIfWaiting(j.id)),
        (err: unknown) =>
          this.host.log.error(
            `workflow: could not create ${made.map((j) => j.id).join(', ')} (${(err as Error).message}); they are created at the next start`,
          ),
      )
      .finally(() => fresh.forEach((s) => this.spawning.delete(s.id)));
    for (const s of fresh) this.spawning.set(s.id, writing);
  }

  private scheduleIfWaiting(id: string): void {
    const rec = this.host.store.jobs.get(id);
    if (rec && WAITING_STATES.has(rec.state)) this.host.schedule(rec);
  }

  /** A follow-up as a job, with its task's defaults (a task no longer loaded still gets its job: it fails naming the task, visibly). */
  private toJob(f: FollowUp, now: number): NewJob {
    const task = this.host.task(f.task) ?? unseenTask(f.task);
    const job = jobFactory(task, undefined, now)(f.args, f.id);
    if (f.link) job.link = JSON.stringify(f.link);
    return job;
  }

  // --- planning -----------------------------------------------------------------

  private plan(wf: Workflow, id: string): { first: FollowUp[]; shape: Shape } {
    switch (wf.kind) {
      case 'signature':
      case 'chain': {
        const steps = wf.kind === 'chain' ? wf.steps : [wf];
        const { first, ids } = this.planChain(steps, id, 'chain', undefined);
        return { first: [first], shape: { kind: 'chain', ids } };
      }
      case 'group': {
        const members = wf.members.map((m, i) => this.planChain(stepsOf(m), stepId(id, i), `group member ${i + 1}`, undefined));
        return { first: members.map((m) => m.first), shape: { kind: 'group', members: members.map((m) => m.ids) } };
      }
      case 'chord': {
        const header = wf.header.members;
        if (header.length > MAX_CHORD_MEMBERS)
          throw new CeleriacError(
            'INVALID_WORKFLOW',
            `sendWorkflow(): a chord has at most ${MAX_CHORD_MEMBERS} members, got ${header.length}: split the work, or chord over groups of results`,
          );
        const finals = header.map((m, i) => stepId(stepId(id, i), stepsOf(m).length - 1));
        const cb = this.linkSignature(wf.callback, 'chord callback', true);
        const chordRef = { id, finals, cb };
        const members = header.map((m, i) => this.planChain(stepsOf(m), stepId(id, i), `chord member ${i + 1}`, chordRef));
        return {
          first: members.map((m) => m.first),
          shape: { kind: 'chord', members: members.map((m) => m.ids), callback: callbackId(id) },
        };
      }
    }
  }

  private planChain(
    steps: readonly Signature[],
    chainId: string,
    where: string,
    chord: WorkflowLink['chord'],
  ): { first: FollowUp; ids: string[] } {
    const sigs = steps.map((s, i) => this.linkSignature(s, steps.length > 1 ? `${where}, step ${i + 1}` : where, i > 0));
    const link: WorkflowLink = { c: chainId, i: 0 };
    if (sigs.length > 1) link.next = sigs.slice(1);
    if (chord) link.chord = chord;
    return { first: { id: stepId(chainId, 0), task: sigs[0]!.n, args: sigs[0]!.a, link }, ids: sigs.map((_, i) => stepId(chainId, i)) };
  }

  /** A signature checked against its task (it must exist; its arguments must fit, the prepended result counted). */
  private linkSignature(sig: Signature, where: string, getsResult: boolean): LinkSignature {
    const task = this.host.task(sig.task);
    if (!task) {
      const err = this.host.unknownTask(sig.task);
      throw new CeleriacError('UNKNOWN_TASK', `sendWorkflow(): ${where}: ${err.message}`);
    }
    // Checked with a stand-in for the result it will get first, so that the count fits.
    encodeArgs(task, getsResult ? [null, ...sig.args] : [...sig.args], `${where} args`, 'sendWorkflow');
    return { n: sig.task, a: JSON.stringify(sig.args) };
  }

  // --- results ------------------------------------------------------------------

  private async resultOf(shape: Shape, options?: ResultOptions): Promise<unknown> {
    const timeoutMs = resultTimeoutMs(options, 'workflow result()');
    const deadline = timeoutMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + timeoutMs;
    switch (shape.kind) {
      case 'chain':
        return this.chainResult(shape.ids, deadline);
      case 'group':
        return Promise.all(shape.members.map((ids) => this.chainResult(ids, deadline)));
      case 'chord':
        await Promise.all(shape.members.map((ids) => this.chainResult(ids, deadline)));
        return this.jobResult(shape.callback, deadline);
    }
  }

  private async chainResult(ids: string[], deadline: number): Promise<unknown> {
    let last: unknown;
    for (const id of ids) last = await this.jobResult(id, deadline);
    return last;
  }

  /** A job's result once it exists (a follow-up is created just after what precedes it succeeded). */
  private async jobResult(id: string, deadline: number): Promise<unknown> {
    while (!this.host.store.jobs.has(id)) {
      if (Date.now() >= deadline)
        throw new CeleriacError('RESULT_TIMEOUT', `workflow job ${id} was not created within the result() timeout (the workflow goes on)`);
      const writing = this.spawning.get(id);
      if (writing) await writing;
      else await new Promise((r) => setTimeout(r, POLL_MS));
    }
    const left = deadline - Date.now();
    return this.host.result(id, Number.isFinite(left) ? Math.max(1, left) : undefined);
  }
}

function stepsOf(m: Signature | Chain): readonly Signature[] {
  return m.kind === 'chain' ? m.steps : [m];
}
