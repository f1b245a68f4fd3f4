// Chooses where jobs are kept and opens it: the data dir (the file backend, the default).
import { FileBackend } from './file/file-backend.js';
import type { Backend, BackendContext } from './types.js';

export interface BackendChoice {
  /** The data dir (absolute). */
  dir: string;
  /** The file backend's journal compaction threshold (bytes). */
  compactAfterBytes: number;
  // BROKER: the `broker` (and `queue`) options go here; see openBackend().
}

/**
 * Open the backend the options choose. Resolves once it holds what it needs to accept
 * jobs; `backend.load()` then reads the rest of what is on record.
 */
export async function openBackend(choice: BackendChoice, ctx: BackendContext): Promise<Backend> {
  // BROKER: a `broker` URL (redis://, postgres://) opens the BullMQ backend here, through a
  // dynamic import, so that an app on a data dir never loads bullmq. Without one: the file backend.
  return FileBackend.open({ dir: choice.dir, compactAfterBytes: choice.compactAfterBytes }, ctx);
}
