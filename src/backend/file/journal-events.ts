// The file journal's events, once durable and applied, told to the app's listeners as
// CeleriacEvents. Nothing is built for an event type nobody listens for.
import type { CeleriacEvent, CeleriacEventType } from '../../events.js';
import type { JobEvent as JournalEvent, JobRecord } from '../../jobs.js';
import type { BackendContext } from '../types.js';

const JOURNAL_TO_EVENT: Partial<Record<JournalEvent['type'], CeleriacEventType>> = {
  add: 'received',
  start: 'started',
  retry: 'retrying',
  succeed: 'succeeded',
  fail: 'failed',
  cancel: 'cancelled',
  expire: 'expired',
  progress: 'progress',
};

/** Journal events just made durable and applied to `jobs`: tell the listeners. */
export function emitApplied(
  events: readonly JournalEvent[],
  jobs: ReadonlyMap<string, JobRecord>,
  ctx: Pick<BackendContext, 'emit' | 'wants'>,
): void {
  for (const ev of events) {
    const type = JOURNAL_TO_EVENT[ev.type];
    if (!type || !ctx.wants(type)) continue;
    const id = ev.type === 'add' ? ev.job.id : ev.id;
    const job = jobs.get(id);
    if (!job) continue;
    ctx.emit(fromJournal(type, ev, job));
  }
}

function fromJournal(type: CeleriacEventType, ev: JournalEvent, job: JobRecord): CeleriacEvent {
  const at = ev.type === 'add' ? ev.job.createdAt : ev.at;
  const event: CeleriacEvent = { type, id: job.id, task: job.task, at: new Date(at), attempt: job.attempts };
  switch (ev.type) {
    case 'add':
      if (ev.job.runAt > at) event.runAt = new Date(ev.job.runAt);
      break;
    case 'start':
      event.recovered = job.recovered;
      break;
    case 'retry':
      event.runAt = new Date(ev.runAt);
      event.error = ev.error;
      break;
    case 'succeed':
      event.result = ev.result === undefined ? undefined : JSON.parse(ev.result);
      break;
    case 'fail':
      event.error = ev.error;
      break;
    case 'progress':
      event.progress = JSON.parse(ev.value);
      break;
    default:
      break;
  }
  return event;
}
