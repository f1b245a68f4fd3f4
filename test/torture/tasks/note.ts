// The torture loop's task module. The child copies it into a task directory it owns
// (rewriting the import of celeriac to an absolute URL and GENERATION to a fresh
// number), watches that directory, and rewrites it now and then to trigger hot reloads.
//
// torture.note(side, workMs) does a little async work, appends `<id> <attempt> <recovered>`
// to <side>/runs, works some more, appends `<id> <attempt>` to <side>/done, and returns
// { attempt, generation }. One appendFileSync is one write(2) of a short line: a SIGKILL
// leaves whole lines, so the driver can tell from these files which runs began and ended.
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { context, task } from '../../../src/index.js';

const GENERATION = 0;

export const note = task('torture.note', async (side: string, workMs: number) => {
  const c = context();
  await sleep(Math.min(3, workMs));
  appendFileSync(join(side, 'runs'), `${c.id} ${c.attempt} ${c.recovered}\n`);
  await sleep(workMs);
  appendFileSync(join(side, 'done'), `${c.id} ${c.attempt}\n`);
  return { attempt: c.attempt, generation: GENERATION };
});
