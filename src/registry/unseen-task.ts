// A task the host cannot see (a client given no task paths, a workflow follow-up whose task
// is no longer loaded): its job is made with neutral defaults, and the worker that runs it
// applies the task's own, or fails it naming the task.
import type { TaskManifestEntry } from './types.js';

export function unseenTask(name: string): TaskManifestEntry {
  return { name, file: '', line: 0, priority: 0, expiresMs: 0, timeoutMs: 0, maxRetries: 0, retryDelayMs: 0 };
}
