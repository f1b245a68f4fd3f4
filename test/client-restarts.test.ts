// Four client processes send while their worker is SIGKILLed and restarted ten times:
// every acknowledged send runs, none makes two jobs, and the sends made while no worker
// ran went through the inbox and ran after the restart.
import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { test } from 'node:test';
import { readJobs } from '../src/admin.js';
import { fixture, readRuns, tempDir, waitFor } from './helpers.js';
import { spawnScript, type Proc } from './fixtures/client/spawn.js';

const WORKER = fixture('client', 'worker.ts');
const SENDER = fixture('client', 'sender.ts');

test('4 clients send while the worker is SIGKILLed and restarted 10 times: 0 acknowledged sends lost, none doubled', {
  timeout: 1_200_000,
}, async (t) => {
  const root = await tempDir(t);
  const dir = join(root, 'data');
  const side = join(root, 'runs.jsonl');
  const startWorker = async (): Promise<Proc> => {
    const w = spawnScript(t, WORKER, [dir]);
    await w.waitLine((l) => l.startsWith('ready'), 120_000, 'the worker to be ready');
    return w;
  };
  let worker = await startWorker();
  // Paced, so that what piles up in the inbox while the worker is down (its restart takes
  // seconds on a loaded machine) stays a few hundred messages.
  const senders = Array.from({ length: 4 }, () => spawnScript(t, SENDER, [dir, side, '2', '5', '200']));
  const rounds: string[] = [];
  const acks = () => senders.flatMap((s) => s.lines.filter((l) => l.startsWith('ack ')));
  const ackedVia = (how: string) => acks().filter((l) => l.endsWith(` ${how}`)).length;

  // Stopped before the temp dir is removed, even when an assertion fails: a sender would recreate it.
  try {
    for (let round = 0; round < 10; round++) {
      rounds.push(
        `${new Date().toISOString()} round ${round}: ${ackedVia('socket')} acked over the socket, ${ackedVia('inbox')} through the inbox`,
      );
      const before = ackedVia('socket');
      await waitFor(() => ackedVia('socket') >= before + 20, 60_000, `round ${round}: sends acknowledged over the socket`);
      await worker.kill();
      const down = ackedVia('inbox');
      await waitFor(
        () => ackedVia('inbox') >= down + 10,
        60_000,
        `round ${round}: sends acknowledged through the inbox while no worker runs`,
      );
      worker = await startWorker();
    }
    await waitFor(() => ackedVia('socket') >= 20, 60_000, 'sends over the socket after the last restart');
    for (const s of senders) s.proc.stdin!.end();
    await Promise.all(senders.map((s) => s.waitLine((l) => l === 'stopped', 60_000, 'the sender to stop')));

    const errors = senders.flatMap((s) => s.lines.filter((l) => l.startsWith('error ')));
    assert.deepEqual(errors, [], 'no send was refused');
    const acked = acks().map((l) => l.split(' ')[1]!);
    assert.equal(new Set(acked).size, acked.length, 'every send had an id of its own');
    t.diagnostic(`${acked.length} sends acknowledged: ${ackedVia('socket')} over the socket, ${ackedVia('inbox')} through the inbox`);

    const ran = async () => new Set((await readRuns(side)).filter((r) => r.phase === 'end').map((r) => r.id));
    await waitFor(
      async () => {
        const done = await ran();
        return acked.every((id) => done.has(id));
      },
      240_000,
      'every acknowledged job to run',
    ).catch(async (err: Error) => {
      const done = await ran();
      const missing = acked.filter((id) => !done.has(id));
      throw new Error(`${err.message}: ${missing.length} of ${acked.length} never ran, e.g. ${missing.slice(0, 5).join(', ')}`);
    });
    await worker.kill(); // read the dir as it was left
    const jobs = await readJobs(dir);
    assert.equal(jobs.size, acked.length, 'one job per acknowledged send: none lost, none doubled');
    assert.ok(
      [...jobs.values()].every((j) => j.state === 'succeeded'),
      'every job succeeded',
    );
  } finally {
    t.diagnostic(rounds.join('\n'));
    await Promise.all([...senders, worker].map((p) => p.kill()));
  }
});
