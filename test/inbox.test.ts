import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { chown, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { createClient } from '../src/index.js';
import { fixture, openApp, ROOT, tempDir, waitFor } from './helpers.js';
import { needRoot } from './users.js';

test('a job handed in while the owner runs is picked up promptly and runs', async (t) => {
  const dir = join(await tempDir(t), 'data');
  const app = await openApp(t, { dir });
  await app.start();
  const client = await createClient({ dir, tasks: [fixture('basic')] });
  const sentAt = Date.now();
  const { id } = await client.send('math.add', [2, 3]);
  const seen = await waitFor(async () => await app.get(id), 5000, 'the owner to take the job');
  const tookMs = Date.now() - sentAt;
  assert.ok(seen);
  assert.equal(await (await app.job(id))!.result({ timeout: 10 }), 5);
  assert.equal(await client.result(id, { timeout: 10 }), 5, 'a reader in another role sees the result');
  assert.equal((await readdir(join(dir, 'inbox'))).filter((f) => f.endsWith('.json')).length, 0, 'the applied message is gone');
  t.diagnostic(`inbox pickup took ${tookMs} ms`);
});

test('a job handed in while no owner runs is durable and runs at the next start', async (t) => {
  const dir = join(await tempDir(t), 'data');
  const client = await createClient({ dir, tasks: [fixture('basic')] });
  const { id } = await client.send('demo.echo', ['queued while down'], { id: 'offline-1' });
  assert.equal(id, 'offline-1');
  assert.equal((await client.get(id))?.state, 'pending', 'readers see it as pending while it waits in the inbox');
  const app = await openApp(t, { dir });
  assert.equal((await app.get(id))?.state, 'pending', 'opening the dir applied the inbox');
  await app.start();
  assert.equal(await (await app.job(id))!.result({ timeout: 10 }), 'queued while down');
});

test('a client checks task names and arguments before writing anything', async (t) => {
  const dir = join(await tempDir(t), 'data');
  const client = await createClient({ dir, tasks: [fixture('basic')] });
  await assert.rejects(client.send('math.ad', [1, 2]), /did you mean "math.add"/);
  await assert.rejects(client.send('math.add', [1, undefined]), /args\[1\] is undefined/);
  await assert.rejects(readdir(join(dir, 'inbox')), /ENOENT/, 'nothing was written');
});

test('invalid messages are moved aside with a reason, never applied', async (t) => {
  const dir = join(await tempDir(t), 'data');
  const client = await createClient({ dir });
  await client.send('no.such.task', [], { id: 'unknown-1' });
  const app = await openApp(t, { dir });
  assert.equal(await app.get('unknown-1'), undefined);
  const reasons = await rejectedReasons(dir);
  assert.ok(
    reasons.some((r) => /unknown task "no.such.task"/.test(r)),
    reasons.join('\n'),
  );
});

test('a message written by another uid is moved aside with a reason, never applied', async (t) => {
  if (!needRoot(t, 'giving the message file to another uid takes chown')) return;
  const dir = join(await tempDir(t), 'data');
  const client = await createClient({ dir });
  const foreign = await client.send('demo.echo', ['from someone else'], { id: 'foreign-1' });
  const mine = await client.send('demo.echo', ['from the owner'], { id: 'mine-1' });
  await chown(foreign.inboxFile!, 65534, 65534);
  const app = await openApp(t, { dir });
  assert.equal(await app.get('foreign-1'), undefined, 'a job from another uid is not accepted');
  assert.equal((await app.get(mine.id))?.state, 'pending', "the owner's own message beside it is");
  const reasons = await rejectedReasons(dir);
  assert.ok(
    reasons.some((r) => /written by uid 65534/.test(r)),
    reasons.join('\n'),
  );
});

async function rejectedReasons(dir: string): Promise<string[]> {
  const rejected = await readdir(join(dir, 'inbox-rejected'));
  return Promise.all(rejected.filter((f) => f.endsWith('.reason.txt')).map((f) => readFile(join(dir, 'inbox-rejected', f), 'utf8')));
}

test('a malformed message is rejected without touching the journal', async (t) => {
  const dir = join(await tempDir(t), 'data');
  const client = await createClient({ dir });
  const ok = await client.send('demo.echo', ['fine'], { id: 'fine-1' });
  await writeFile(
    join(dir, 'inbox', `${Date.now() + 1}-1-deadbeef.json`),
    '{"v":1,"kind":"send","jobs":[{"id":"x","task":"demo.echo","args":"[1",',
    { mode: 0o600 },
  );
  const app = await openApp(t, { dir });
  assert.equal((await app.get(ok.id))?.state, 'pending');
  assert.equal(await app.get('x'), undefined);
  assert.equal((await readdir(join(dir, 'inbox-rejected'))).length, 2, 'the bad message and its reason');
});

test('cancel through the inbox reaches a running owner', async (t) => {
  const dir = join(await tempDir(t), 'data');
  const app = await openApp(t, { dir });
  const h = await app.send('demo.echo', ['never'], { countdown: 60 });
  const client = await createClient({ dir });
  await client.cancel(h.id);
  await waitFor(async () => (await app.get(h.id))?.state === 'cancelled', 5000, 'the cancel to apply');
});

test('a submitter killed mid-write leaves no half message behind', async (t) => {
  const dir = join(await tempDir(t), 'data');
  // A child that writes inbox messages in a loop; SIGKILL it at a random moment.
  const script = `import { createClient } from ${JSON.stringify(join(ROOT, 'src', 'index.ts'))};
const c = await createClient({ dir: ${JSON.stringify(dir)} });
for (let i = 0; ; i++) { const { id } = await c.send('demo.echo', ['n' + i]); process.stdout.write(id + '\\n'); }`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => child.kill('SIGKILL'));
  let acked: string[] = [];
  child.stdout.on('data', (d: Buffer) => (acked = acked.concat(d.toString().split('\n').filter(Boolean))));
  await waitFor(() => acked.length >= 30, 30_000, 'the child to submit jobs');
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  const app = await openApp(t, { dir });
  for (const id of acked) assert.equal((await app.get(id))?.state, 'pending', `acknowledged job ${id} is on record`);
  const rejected = await readdir(join(dir, 'inbox-rejected')).catch(() => [] as string[]);
  assert.deepEqual(rejected, [], 'no torn message was ever visible to the owner');
});
