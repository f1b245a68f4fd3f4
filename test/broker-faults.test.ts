// The broker itself stops hard while jobs are being sent: redis-server SIGKILLed (AOF,
// appendfsync always), PostgreSQL shut down immediately; then started again. Every send
// that was acknowledged before the crash is there afterwards and runs.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { createCeleriac } from '../src/index.js';
import { fixture } from './helpers.js';
import { startTestServer, type BrokerKind } from './servers.js';

const TASKS = [fixture('contract')];

for (const kind of ['redis', 'postgres'] as BrokerKind[]) {
  const server = await startTestServer(kind, after, (reason) => test(`${kind} server`, (t) => t.skip(reason)));
  test(`${kind}: a hard stop and restart of the broker loses no acknowledged job`, { timeout: 180_000 }, async (t) => {
    if (!server) return t.skip(`no ${kind} here`);
    const sender = await createCeleriac({ broker: server.url, queue: 'faults', tasks: TASKS, logger: false, concurrency: 1 });
    t.after(() => sender.close({ timeout: 1 }));
    const acknowledged: string[] = [];
    const failed: string[] = [];
    let crash: Promise<void> | undefined;
    for (let i = 0; i < 150; i++) {
      const id = `job:${i}`;
      try {
        await sender.send('contract.echo', [i], { id });
        acknowledged.push(id);
      } catch {
        failed.push(id); // refused while the broker was down: the caller knows it was not acknowledged
      }
      if (i === 50) crash = server.crashAndRestart(300);
    }
    await crash;
    assert.ok(acknowledged.length > 50, `only ${acknowledged.length} sends were acknowledged`);
    const runner = await createCeleriac({ broker: server.url, queue: 'faults', tasks: TASKS, logger: false, concurrency: 2, start: true });
    t.after(() => runner.close({ timeout: 1 }));
    const missing: string[] = [];
    for (const id of acknowledged) if (!(await runner.get(id))) missing.push(id);
    assert.deepEqual(missing, [], `${missing.length} acknowledged job(s) lost`);
    for (const id of acknowledged) assert.equal(await (await runner.job(id))!.result({ timeout: 60 }), Number(id.slice(4)));
  });
}
