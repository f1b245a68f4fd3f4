// What context().schedule says about a job: read from the job's id (the schedule and the
// slot, see ids.ts) and its stored slot kind, so that it survives a restart and reads
// the same on every backend. An ordinary job whose id merely looks like a slot's has no
// slot kind, hence no schedule.
import type { ScheduleContext } from '../context.js';
import type { WireJob } from '../pool/protocol.js';
import { parseSlotId } from './ids.js';

export function scheduleContext(job: Pick<WireJob, 'id' | 'slot'>): ScheduleContext | undefined {
  if (job.slot === undefined) return undefined;
  const parsed = parseSlotId(job.id);
  return parsed && { name: parsed.name, slot: parsed.slot, backfill: job.slot === 'backfill' };
}
