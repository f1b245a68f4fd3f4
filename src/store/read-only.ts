// Reading a data dir without owning it (a worker may be running on it): what `list`,
// `show`, `celeriac schedules` and the client's fallbacks read. Retried when the owner
// compacts under the reader; a dir that does not exist yet reads as empty.
import pRetry from 'p-retry';
import { ConcurrentChange, loadState, type LoadedState } from './load.js';

export async function readStateReadOnly(dir: string): Promise<LoadedState | undefined> {
  return pRetry(
    async () => {
      try {
        return await loadState(dir, { readOnly: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT' && (err as NodeJS.ErrnoException).path === dir) return undefined;
        throw err;
      }
    },
    { retries: 5, minTimeout: 10, shouldRetry: ({ error }) => error instanceof ConcurrentChange },
  );
}
