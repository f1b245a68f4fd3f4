// The task `celeriac test` sends (CKAN's `ckan jobs test`): always loaded, so a worker
// can be checked end to end without any task module of the application.
import { threadId } from 'node:worker_threads';
import { context, type TaskContext } from '../context.js';
import { task } from '../task.js';

export const testTask = task('celeriac.test', (message: string = 'celeriac test job') => {
  const ctx: TaskContext = context();
  return { message, job: ctx.id, attempt: ctx.attempt, pid: process.pid, threadId };
});
