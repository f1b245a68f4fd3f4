import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { chain, chord, group, signature, type CeleriacError } from '../src/index.js';
import { fixture, openApp, waitFor } from './helpers.js';

const tasks = [fixture('workflows', 'canvas.ts')];
const add = (...a: unknown[]) => signature('wf.add', a);
const double = (...a: unknown[]) => signature('wf.double', a);
const sum = (...a: unknown[]) => signature('wf.sum', a);
const fail = (...a: unknown[]) => signature('wf.fail', a);

test('chain: each step gets the previous result prepended to its own arguments; the handle gives the last result', async (t) => {
  const app = await openApp(t, { tasks });
  await app.start();
  const h = await app.sendWorkflow(chain(add(1, 2), double(), add(10)), { id: 'c1' });
  assert.equal(await h.result({ timeout: 20 }), 16);
  assert.deepEqual(h.jobs, ['c1.0', 'c1.1', 'c1.2']);
  assert.deepEqual((await app.get('c1.1'))?.args, [3]);
  assert.deepEqual((await app.get('c1.2'))?.args, [6, 10]);
  const again = await app.sendWorkflow(chain(add(1, 2), double(), add(10)), { id: 'c1' });
  assert.equal(again.created, false, 'a known workflow id creates nothing');
  assert.equal((await app.list({ limit: 100 })).jobs.length, 3);
});

test("chain: a failure stops the chain and its handle fails with that step's error", async (t) => {
  const app = await openApp(t, { tasks });
  await app.start();
  const h = await app.sendWorkflow(chain(add(1, 1), fail(), double()), { id: 'c2' });
  await assert.rejects(h.result({ timeout: 20 }), (err: CeleriacError & { task?: string }) => {
    assert.equal(err.code, 'JOB_FAILED');
    assert.match(err.message, /wf\.fail \[c2\.1\] failed: RangeError: no good: 2/);
    return true;
  });
  await app.idle();
  assert.equal(await app.get('c2.2'), undefined, 'the step after the failure is never created');
});

test('group: members run in parallel (signatures or chains); the result is the list of their results in order', async (t) => {
  const app = await openApp(t, { tasks });
  await app.start();
  const h = await app.sendWorkflow(group([add(1, 1), chain(add(2, 2), double()), add(3, 3)]));
  assert.deepEqual(await h.result({ timeout: 20 }), [2, 8, 6]);
});

test('chord: the callback runs once, after every member succeeded, with their results (then its own arguments)', async (t) => {
  const app = await openApp(t, { tasks });
  await app.start();
  const h = await app.sendWorkflow(chord(group([add(1, 1), chain(add(2, 2), double()), add(5, 5)]), sum(100)), { id: 'k1' });
  assert.equal(await h.result({ timeout: 20 }), 120);
  assert.deepEqual((await app.get('k1.cb'))?.args, [[2, 8, 10], 100]);
  assert.equal((await app.get('k1.cb'))?.attempts, 1);
  const failing = await app.sendWorkflow(chord([add(1, 1), fail(7)], sum()), { id: 'k2' });
  await assert.rejects(failing.result({ timeout: 20 }), /wf\.fail \[k2\.1\.0\] failed: RangeError: no good: 7/);
  await app.idle();
  assert.equal(await app.get('k2.cb'), undefined, 'a member failed: the callback is never created');
});

test('workflows: bad input (a chord over zero tasks, an empty chain, an unknown task, a wrong argument count) is refused naming it, and nothing is written', async (t) => {
  const app = await openApp(t, { tasks });
  const code = (c: string, re: RegExp) => (err: CeleriacError) => err.code === c && re.test(err.message);
  assert.throws(
    () => chord([], sum()),
    code(
      'INVALID_WORKFLOW',
      /chord\(\): the header must be a group of at least one task \(a chord over zero tasks would never call its callback\), got an empty list/,
    ),
  );
  assert.throws(() => group([]), code('INVALID_WORKFLOW', /group\(\): no members/));
  assert.throws(() => chain(), code('INVALID_WORKFLOW', /chain\(\): no steps/));
  assert.throws(
    () => chain(add(1, 2), group([add(1, 1)]) as never),
    code('INVALID_WORKFLOW', /chain\(\): step 2 is a group, not a signature/),
  );
  assert.throws(() => chord([add(1, 1)], 'wf.sum' as never), code('INVALID_WORKFLOW', /chord\(\): the callback must be a signature/));
  await assert.rejects(
    app.sendWorkflow(chain(add(1, 2), signature('wf.dubble'))),
    code('UNKNOWN_TASK', /sendWorkflow\(\): chain, step 2: unknown task "wf\.dubble": did you mean "wf\.double"/),
  );
  await assert.rejects(
    app.sendWorkflow(chain(add(1, 2), double(5))),
    code('INVALID_ARGS', /sendWorkflow\(wf\.double\): chain, step 2 args: wf\.double\(x\) takes 1 argument, got 2/),
  );
  await assert.rejects(
    app.sendWorkflow(chord([add(1, 2)], signature('wf.nope'))),
    code('UNKNOWN_TASK', /chord callback: unknown task "wf\.nope"/),
  );
  assert.equal((await app.list()).jobs.length, 0, 'nothing was written');
});

test('workflows: a step whose predecessor succeeded just before a crash (its follow-up never written) is created at the next open, once', async (t) => {
  const { FileStore } = await import('../src/store/file-store.js');
  const { join } = await import('node:path');
  const { tempDir } = await import('./helpers.js');
  const dir = join(await tempDir(t), 'data');
  // What a process killed between the outcome's write and its follow-up's leaves on disk.
  const store = await FileStore.open({ dir, resultTtlMs: 86_400_000, compactAfterBytes: 64 * 1024 * 1024 });
  const link = JSON.stringify({
    c: 'r1',
    i: 0,
    next: [
      { n: 'wf.double', a: '[]' },
      { n: 'wf.add', a: '[1]' },
    ],
  });
  const at = Date.now();
  await store.commit([
    { type: 'add', job: { id: 'r1.0', task: 'wf.add', args: '[20,1]', createdAt: at, runAt: 0, expiresAt: 0, priority: 0, link } },
    { type: 'start', id: 'r1.0', at },
    { type: 'succeed', id: 'r1.0', at, result: '21' },
  ]);
  await store.close();
  const app = await openApp(t, { tasks, dir });
  await app.start();
  const last = await (await waitFor(() => app.job('r1.2'), 20_000, 'the last step')).result({ timeout: 20 });
  assert.equal(last, 43, 'the chain went on: double(21) then add(42, 1)');
  assert.deepEqual((await app.get('r1.1'))?.args, [21]);
  assert.equal((await app.get('r1.1'))?.attempts, 1);
});
