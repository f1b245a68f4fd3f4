// Every job of a data dir, read without owning it (a worker may be running on it): the
// records on disk, plus the jobs still waiting in the inbox (shown as pending). What the
// CLI's `list`/`show`, the client's reads when no worker runs and `celeriac/admin` use.
import { readInboxReadOnly } from './inbox.js';
import { newRecord, type JobRecord, type JobRecordText } from './jobs.js';
import { readStateReadOnly } from './store/read-only.js';

/** Read a data dir without owning it; retried when the owner compacts under the reader. */
export async function readJobs(dir: string): Promise<Map<string, JobRecordText>> {
  const state = await readStateReadOnly(dir);
  const jobs = state?.jobs ?? new Map<string, JobRecord>();
  for (const job of await readInboxReadOnly(dir)) if (!jobs.has(job.id)) jobs.set(job.id, newRecord(job));
  // Only the owner leaves finished jobs' args on disk (load.ts): a reader's records hold them as text.
  return jobs as Map<string, JobRecordText>;
}
