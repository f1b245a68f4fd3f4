// The CLI's send, list, show and cancel talk to a running worker over its client socket:
// they see what only the worker knows (a reserved job reads as pending in the data dir).
import { strict as assert } from 'node:assert';
import { before, test } from 'node:test';
import { celeriac, ensureBuilt, explain, importTask, json, project, startWorker } from './cli-helpers.js';
import { waitFor } from './helpers.js';

const SLEEP_JS = `${importTask('context, task')}export const sleep = task('demo.sleep', (ms) => new Promise((resolve, reject) => { const timer = setTimeout(() => resolve(ms), ms); context().signal.addEventListener('abort', () => { clearTimeout(timer); reject(new Error('aborted')); }); }));
`;

before(() => ensureBuilt());

test("with a worker running, send/list/show/cancel go through its socket: reserved jobs show as reserved and a cancel is the worker's answer", {
  timeout: 180_000,
}, async (t) => {
  const cwd = await project(t, {
    'celeriac.config.json': JSON.stringify({ dir: 'data', tasks: ['tasks'], concurrency: 1, prefetch: 8, shutdownTimeout: 1 }),
    'tasks/sleep.js': SLEEP_JS,
  });
  await startWorker(t, cwd);
  // More than the worker's queue takes (UNITS_PER_SLOT units, one job each here): the rest wait reserved in the host.
  const ids = ['a', 'b', 'c', 'd', 'e', 'f'];
  for (const id of ids) {
    const r = await celeriac(t, cwd, ['send', 'demo.sleep', '[60000]', '--id', id]);
    assert.equal(r.code, 0, explain(r));
  }
  // One runs; the worker holds the others reserved for its only slot.
  const reserved = await waitFor(
    async () => {
      const r = await celeriac(t, cwd, ['list', '--state', 'reserved', '--json']);
      assert.equal(r.code, 0, explain(r));
      const ids = json<{ id: string }[]>(r).map((j) => j.id);
      return ids.length > 0 ? ids : undefined;
    },
    60_000,
    'list to show reserved jobs',
  );
  const show = await celeriac(t, cwd, ['show', reserved[0]!, '--json']);
  assert.equal(show.code, 0, explain(show));
  assert.equal(json(show).state, 'reserved', 'show asks the worker, which knows the job is reserved');
  const table = await celeriac(t, cwd, ['list']);
  assert.match(table.stdout, new RegExp(`^${reserved[0]} +demo\\.sleep +default +reserved `, 'm'), explain(table));

  const cancel = await celeriac(t, cwd, ['cancel', reserved[0]!, '--json']);
  assert.equal(cancel.code, 0, explain(cancel));
  assert.deepEqual(json(cancel), { id: reserved[0], cancelled: true, state: 'cancelled' });
  const again = await celeriac(t, cwd, ['cancel', reserved[0]!]);
  assert.equal(again.code, 5, explain(again, 'a finished job is not cancelled again'));
  assert.match(again.stderr, /already cancelled: nothing to cancel/);
  const unknown = await celeriac(t, cwd, ['cancel', 'nope']);
  assert.equal(unknown.code, 3, explain(unknown));
  for (const id of ids) await celeriac(t, cwd, ['cancel', id]);
});
