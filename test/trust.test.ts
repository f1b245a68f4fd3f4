// Files and trust: the data dir is private to its user, nothing read from it is ever run
// as code, and only modules from the configured places are imported.
import { strict as assert } from 'node:assert';
import { appendFile, readdir, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { createClient, type TaskFailedError } from '../src/index.js';
import { encodeEvent, frame } from '../src/store/codec.js';
import { appendToJournal, fixture, openApp, tempDir } from './helpers.js';

test('the data dir is created 0700 and its files 0600', async (t) => {
  const dir = join(await tempDir(t), 'data');
  const app = await openApp(t, { dir, compactAfterBytes: 1 });
  await app.start();
  await (await app.send('demo.echo', ['x'])).result({ timeout: 10 });
  await (await createClient({ dir })).send('demo.echo', ['via inbox'], { countdown: 60 });
  await app.close();
  assert.equal((await stat(dir)).mode & 0o777, 0o700);
  const seen: string[] = [];
  const walk = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) {
        assert.equal((await stat(p)).mode & 0o777, 0o700, p);
        await walk(p);
      } else {
        assert.equal((await stat(p)).mode & 0o777, 0o600, p);
        seen.push(e.name);
      }
    }
  };
  await walk(dir);
  assert.ok(seen.includes('snapshot.db') && seen.some((f) => f.startsWith('journal-')), seen.join(', '));
});

test('a task name read from the journal is only ever looked up, never imported or evaluated', async (t) => {
  const dir = join(await tempDir(t), 'data');
  const evil = join(await tempDir(t), 'evil.mjs');
  const marker = `${evil}.ran`;
  await writeFile(evil, `import { writeFileSync } from 'node:fs'; writeFileSync(${JSON.stringify(marker)}, 'imported');`);
  const app0 = await openApp(t, { dir });
  await app0.close();
  // A record planted in the journal with a valid checksum, naming the evil module as its task.
  const segment = join(dir, (await readdir(dir)).find((f) => f.startsWith('journal-'))!);
  for (const task of [evil, `file://${evil}`, 'require("child_process")']) {
    await appendToJournal(
      segment,
      frame(
        encodeEvent({
          type: 'add',
          job: { id: `planted-${task.length}`, task, args: '[]', createdAt: Date.now(), runAt: 0, expiresAt: 0, priority: 0 },
        }),
      ),
    );
  }
  const app = await openApp(t, { dir });
  await app.start();
  for (const id of ['planted-' + evil.length, `planted-${`file://${evil}`.length}`, `planted-${'require("child_process")'.length}`]) {
    const h = (await app.job(id))!;
    await assert.rejects(h.result({ timeout: 10 }), (err: TaskFailedError) => /is not registered in this worker/.test(err.remote.message));
  }
  assert.equal(existsSync(marker), false, 'the module named by the journal was never imported');
});

test('only modules from the configured task paths are imported', async (t) => {
  const dir = join(await tempDir(t), 'data');
  const app = await openApp(t, { dir, tasks: [fixture('basic')] });
  assert.deepEqual(app.modules, [fixture('basic', 'tasks.ts')]);
  assert.deepEqual(
    app.tasks.map((x) => x.file).filter((f) => !f.includes('/builtin/')),
    Array(app.tasks.length - 1).fill(fixture('basic', 'tasks.ts')),
  );
});
