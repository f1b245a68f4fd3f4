// One client request → one call of the app's public facade. Nothing here knows how the
// app keeps its jobs, so the socket serves every backend alike.
import { CeleriacError } from '../errors.js';
import { EVENT_TYPES, type CeleriacEventType } from '../events.js';
import { isPlainObject } from '../validate.js';
import { REQUEST_OPS, type ClientFacade, type Request, type SentJob } from './protocol.js';

/** Why a decoded frame is not a request; undefined when it is one. */
export function requestProblem(value: unknown): string | undefined {
  if (!isPlainObject(value)) return 'a request must be a JSON object';
  const r = value as Record<string, unknown>;
  if (!Number.isSafeInteger(r.id) || (r.id as number) < 0) return `a request's "id" must be an integer ≥ 0, got ${JSON.stringify(r.id)}`;
  if (typeof r.op !== 'string' || !(REQUEST_OPS as readonly string[]).includes(r.op))
    return `request ${r.id}: unknown "op" ${JSON.stringify(r.op)} (ops: ${REQUEST_OPS.join(', ')})`;
  return undefined;
}

function eventTypes(value: unknown): CeleriacEventType[] {
  if (!Array.isArray(value) || value.some((t) => !(EVENT_TYPES as readonly string[]).includes(t))) {
    throw new CeleriacError(
      'INVALID_ARGS',
      `subscribe: "events" must be a list of event types (${EVENT_TYPES.join(', ')}), got ${JSON.stringify(value)}`,
    );
  }
  return value as CeleriacEventType[];
}

function jobId(value: unknown, op: string): string {
  if (typeof value !== 'string')
    throw new CeleriacError('INVALID_ARGS', `${op}: "job" must be a job id (a string), got ${JSON.stringify(value)}`);
  return value;
}

/** A result request's `timeout`, milliseconds on the wire, in the seconds the app takes. */
function waitSeconds(value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0)
    throw new CeleriacError('INVALID_ARGS', `result: "timeout" must be milliseconds ≥ 0, got ${JSON.stringify(value)}`);
  return value / 1000;
}

export interface Subscriptions {
  add(types: CeleriacEventType[]): void;
  remove(types: CeleriacEventType[]): void;
}

/** Run one request; resolves with the reply's value, rejects with the error to send back. */
export async function handleRequest(app: ClientFacade, req: Request, subs: Subscriptions): Promise<unknown> {
  switch (req.op) {
    case 'send': {
      if (typeof req.task !== 'string')
        throw new CeleriacError('UNKNOWN_TASK', `send: "task" must be a task name, got ${JSON.stringify(req.task)}`);
      const h = await app.send(req.task, req.args as unknown[], req.options);
      return { id: h.id, created: h.created } satisfies SentJob;
    }
    case 'sendMany': {
      if (typeof req.task !== 'string')
        throw new CeleriacError('UNKNOWN_TASK', `sendMany: "task" must be a task name, got ${JSON.stringify(req.task)}`);
      const hs = await app.sendMany(req.task, req.items as never, req.options);
      return hs.map((h): SentJob => ({ id: h.id, created: h.created }));
    }
    case 'get':
      return (await app.get(jobId(req.job, 'get'))) ?? null;
    case 'list':
      return app.list(req.options);
    case 'counts':
      return app.counts();
    case 'cancel':
      return app.cancel(jobId(req.job, 'cancel'));
    case 'result':
      return app.result(jobId(req.job, 'result'), req.timeout === undefined ? {} : { timeout: waitSeconds(req.timeout) });
    case 'subscribe':
      subs.add(eventTypes(req.events));
      return true;
    case 'unsubscribe':
      subs.remove(eventTypes(req.events));
      return true;
  }
}
