// A journal write the kernel takes only in part (a short write: allowed by POSIX, rare on
// a local disk) is finished by further writes before the send resolves: every record
// whole, where it belongs, and read back by the next open.
import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { test } from 'node:test';
import { createCeleriac } from '../src/index.js';
import { fixture, openApp, tempDir } from './helpers.js';

type Write = (buf: Buffer, offset: number, length: number, position: number) => Promise<{ bytesWritten: number }>;

test('short journal writes: the rest of the batch is written before send() resolves, and every job is read back', async (t) => {
  const dir = join(await tempDir(t), 'data');
  const app = await openApp(t, { dir });
  // The file handle the store writes its journal with: from now on it takes at most 37 bytes per call.
  const fh = (app as unknown as { backend: { store: { fh: { write: Write } } } }).backend.store.fh;
  const original = fh.write.bind(fh);
  let calls = 0;
  fh.write = (buf, offset, length, position) => {
    calls++;
    return original(buf, offset, Math.min(length, 37), position);
  };
  const one = await app.send('demo.echo', ['a record much longer than one short write']);
  const many = await app.sendMany('math.add', [
    [1, 2],
    [3, 4],
  ]);
  assert.ok(calls > 5, `the records took ${calls} writes of at most 37 bytes`);
  await app.close();

  const again = await createCeleriac({ dir, tasks: [fixture('basic')], logger: false, concurrency: 1 });
  t.after(() => again.close({ timeout: 1 }));
  assert.equal(again.recovery.truncated, undefined, 'no torn record');
  assert.deepEqual((await again.get(one.id))?.args, ['a record much longer than one short write']);
  assert.deepEqual(await Promise.all(many.map(async (h) => (await again.get(h.id))?.args)), [
    [1, 2],
    [3, 4],
  ]);
  await again.start();
  assert.deepEqual(await Promise.all(many.map((h) => again.result(h.id))), [3, 7]);
});
