// The dashboard's source for a worker that runs in another process: a client of its socket
// (<dir>/client.sock). Jobs, counts, cancel, sends and live events are the worker's own
// answers; what the socket does not carry (worker threads, the last recovery report,
// forget, periodic schedules) is left out, so those pages say it is unavailable.
import type { CeleriacClient } from '../client.js';
import type { DashboardSource } from './types.js';

export function clientSource(client: CeleriacClient): DashboardSource {
  return {
    list: (options) => client.list(options),
    get: (id) => client.get(id),
    counts: () => client.counts(),
    cancel: (id) => client.cancel(id),
    send: async (task, args) => (await client.send(task, args)).id,
    // The task list the client found in the same task paths the worker loads (none without them).
    tasks: () => client.tasks ?? [],
    recovery: () => undefined,
    on: (type, listener) => void client.on(type, listener),
    off: (type, listener) => void client.off(type, listener),
  };
}
