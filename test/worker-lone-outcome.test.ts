// A worker thread with nothing else running or queued posts a job's outcome as the job
// ends, not after whatever else waits in the thread's event loop (W2's round trip).
import { strict as assert } from 'node:assert';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { fixture, openApp, tempDir, waitFor } from './helpers.js';

test("a lone job's outcome leaves its thread before callbacks the job left behind", async (t) => {
  const dir = await tempDir(t);
  const hostHasResult = join(dir, 'host-has-result');
  const verdict = join(dir, 'verdict');
  const app = await openApp(t, { tasks: [fixture('lone-outcome')], concurrency: 1 });
  await app.start();
  const handle = await app.send('lone.leaves-work', [hostHasResult, verdict]);
  // The job's setImmediate callback holds its thread until this file exists (5 s at most).
  assert.equal(await handle.result({ timeout: 15 }), 'done');
  await writeFile(hostHasResult, '');
  const seen = await waitFor(() => readFile(verdict, 'utf8').catch(() => ''), 15_000, 'the callback to write its verdict');
  assert.equal(seen, 'result reached the host first');
});
