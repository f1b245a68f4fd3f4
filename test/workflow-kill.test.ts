import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { tempDir } from './helpers.js';
import { workflowKillLoop } from './workflow-kill.js';

test('workflows survive SIGKILLs at random moments: no step lost, none created twice, each chord callback created and begun once', {
  timeout: 600_000,
}, async (t) => {
  const dir = await tempDir(t);
  const report = await workflowKillLoop(dir, 25, 5, [20, 700]);
  t.diagnostic(`${report.kills} kills over ${report.lives} lives; ${report.recoveredRuns} recovered runs`);
  assert.ok(report.kills >= 1, 'at least one kill landed');
});
