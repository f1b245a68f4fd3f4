// The inbox as a trust boundary: a message is opened once, without following links, and
// judged on the opened file (owner, type, size). Another real user flips a symlink in a
// loop to race the owner's check; FIFOs, directories and oversized files never stall it.
import { strict as assert } from 'node:assert';
import { execFileSync, spawn } from 'node:child_process';
import { chmod, mkdir, readdir, readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { MAX_MESSAGE_BYTES, readInbox, type InboxEntry } from '../src/inbox.js';
import { tempDir } from './helpers.js';
import { needRoot, otherUser, reachableBy } from './users.js';

const NAME = '1700000000000-1-deadbeef.json';
const message = (id: string) =>
  JSON.stringify({
    v: 1,
    kind: 'send',
    jobs: [{ id, task: 'demo.echo', args: '["x"]', createdAt: 0, runAt: 0, expiresAt: 0, priority: 0 }],
  });

test('a symlink another user flips between check and read never gets its jobs accepted', { timeout: 120_000 }, async (t) => {
  if (!needRoot(t, 'a second real uid flips the symlink')) return;
  const user = otherUser(t);
  if (!reachableBy(t, user.uid, user.gid)) return;
  const root = await tempDir(t);
  const dir = join(root, 'data');
  const inbox = join(dir, 'inbox');
  await mkdir(inbox, { recursive: true });
  // The operator's mistake that lets the other user in: a writable inbox.
  await chmod(root, 0o711);
  await chmod(dir, 0o711);
  await chmod(inbox, 0o777);
  // A file of the owner's (passes an owner check that follows the link) and the attacker's jobs.
  const mine = join(root, 'owned-by-owner.json');
  await writeFile(mine, message('harmless'), { mode: 0o600 });
  const evilDir = join(root, 'attacker');
  await mkdir(evilDir, { mode: 0o755 });
  execFileSync('chown', [`${user.uid}:${user.gid}`, evilDir]);
  const evil = join(evilDir, 'evil.json');

  const script = `
    const fs = require('node:fs');
    fs.writeFileSync(${JSON.stringify(evil)}, ${JSON.stringify(message('evil'))});
    const final = ${JSON.stringify(join(inbox, NAME))};
    const tmp = ${JSON.stringify(join(inbox, '.flip'))};
    const until = Date.now() + 60000;
    for (let i = 0; Date.now() < until; i++) {
      try { fs.unlinkSync(tmp); } catch {}
      fs.symlinkSync(i % 2 ? ${JSON.stringify(evil)} : ${JSON.stringify(mine)}, tmp);
      fs.renameSync(tmp, final);
      if (i === 0) process.stdout.write('flipping\\n');
    }`;
  const attacker = spawn(process.execPath, ['-e', script], { uid: user.uid, gid: user.gid, stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => attacker.kill('SIGKILL'));
  await new Promise<void>((resolve, reject) => {
    attacker.stdout.once('data', () => resolve());
    attacker.once('exit', (code) => reject(new Error(`the attacker exited early (${code})`)));
  });

  const accepted: InboxEntry[] = [];
  const reasons: string[] = [];
  for (let round = 0; round < 400; round++) {
    accepted.push(...(await readInbox(dir, (_f, reason) => reasons.push(reason))));
  }
  attacker.kill('SIGKILL');
  const ids = accepted.flatMap((e) => (e.message.kind === 'send' ? e.message.jobs.map((j) => j.id) : []));
  assert.deepEqual(
    ids.filter((id) => id === 'evil'),
    [],
    `the other user's jobs were accepted ${ids.filter((id) => id === 'evil').length} time(s) in 400 reads`,
  );
  assert.deepEqual(ids, [], 'a symlink is never read, whatever it points to');
  assert.ok(
    reasons.some((r) => /symbolic link/.test(r)),
    `the links were refused as links: ${reasons.slice(0, 3).join(' | ')}`,
  );
});

test('FIFOs, directories and oversized files are refused with a reason, never read, never stalling the inbox', {
  timeout: 60_000,
}, async (t) => {
  const dir = join(await tempDir(t), 'data');
  const inbox = join(dir, 'inbox');
  await mkdir(inbox, { recursive: true });
  execFileSync('mkfifo', [join(inbox, '1700000000001-1-00000001.json')]);
  await mkdir(join(inbox, '1700000000002-1-00000002.json'));
  const big = join(inbox, '1700000000003-1-00000003.json');
  await writeFile(big, '');
  await truncate(big, MAX_MESSAGE_BYTES + 1); // sparse: reading it would take the whole limit
  await writeFile(join(inbox, '1700000000004-1-00000004.json'), message('fine'), { mode: 0o600 });

  const reasons = new Map<string, string>();
  const entries = await readInbox(dir, (file, reason) => reasons.set(file.slice(file.lastIndexOf('/') + 1), reason));
  assert.deepEqual(
    entries.map((e) => (e.message.kind === 'send' ? e.message.jobs[0]!.id : '')),
    ['fine'],
    'the good message is read',
  );
  assert.match(reasons.get('1700000000001-1-00000001.json') ?? '', /not a regular file/);
  assert.match(reasons.get('1700000000002-1-00000002.json') ?? '', /not a regular file/);
  assert.match(reasons.get('1700000000003-1-00000003.json') ?? '', /over the limit/);
  const aside = await readdir(join(dir, 'inbox-rejected'));
  for (const name of reasons.keys()) {
    assert.ok(aside.includes(name), `${name} moved aside`);
    assert.match(await readFile(join(dir, 'inbox-rejected', `${name}.reason.txt`), 'utf8'), /regular file|limit/);
  }
});
