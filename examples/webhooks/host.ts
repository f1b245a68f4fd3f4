// An app that embeds celeriac with the webhooks plugin. Run it from the app's directory,
// where celeriac and celeriac-example-webhooks are installed in node_modules:
//
//   node --import tsx node_modules/celeriac-example-webhooks/host.ts
//
// It starts a demo subscriber on 127.0.0.1 that answers 503 to the first delivery and
// 200 after that, sends one change twice with the same job id, and prints what happened.
// The data dir is $CELERIAC_DIR, or .celeriac in the working directory.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createCeleriac, type Celeriac } from 'celeriac';
import type { Delivery, RecordChange, Subscription } from 'celeriac-example-webhooks';

// --- the app's side: one function, called wherever a record changes --------------------

/**
 * Queue a notification of `change` to every subscriber. The job id names the change and
 * the subscriber, so calling this twice for the same change (a retried request, a
 * replayed event) queues nothing new: `handle.created` is false the second time.
 */
async function onRecordChanged(app: Celeriac, change: RecordChange & { revision: number }, subscribers: Record<string, Subscription>) {
  const { revision, ...payload } = change;
  return Promise.all(
    Object.entries(subscribers).map(([name, subscription]) =>
      app.send<Delivery>('webhooks.notify', [subscription, payload], { id: `webhooks:${name}:${change.recordId}@${revision}` }),
    ),
  );
}

// --- a demo subscriber: 503 first, then 200; de-duplicates on Idempotency-Key -----------

const seen = new Set<string>();
let requests = 0;
const subscriber = createServer((req, res) => {
  const key = String(req.headers['idempotency-key']);
  req.resume().on('end', () => {
    requests++;
    if (requests === 1) {
      console.log(`[subscriber] request ${requests}: key ${key} → 503 (pretending to be down)`);
      res.writeHead(503).end();
      return;
    }
    const duplicate = seen.has(key);
    seen.add(key);
    console.log(`[subscriber] request ${requests}: key ${key} → 200${duplicate ? ' (duplicate, ignored)' : ''}`);
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
  });
});
await new Promise<void>((resolve) => subscriber.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${(subscriber.address() as AddressInfo).port}/hooks`;

// --- the app: open celeriac with the plugin, as a config's `plugins` would ---------------

const app = await createCeleriac({
  dir: process.env.CELERIAC_DIR ?? '.celeriac',
  plugins: ['celeriac-example-webhooks'],
  concurrency: 1,
});
for (const t of app.tasks) console.log(`task ${t.name}: ${t.file}:${t.line}${t.plugin ? ` (plugin ${t.plugin})` : ''}`);
await app.start();

const change = { recordId: 'dataset-42', change: 'updated', data: { title: 'Rainfall 2024' }, revision: 7 } as const;
const subscribers = { 'demo-subscriber': { url, timeout: 5, retryDelay: 0.2 } };
const [first] = await onRecordChanged(app, change, subscribers);
const [again] = await onRecordChanged(app, change, subscribers); // the same change again
console.log(`job ${first!.id}: created ${first!.created}; sent again: created ${again!.created}`);

const delivery = await first!.result({ timeout: 30 });
const info = (await app.get(first!.id))!;
console.log(`delivered: HTTP ${delivery.status} on attempt ${delivery.attempt}, Idempotency-Key ${delivery.idempotencyKey}`);
console.log(`job state ${info.state}, attempts ${info.attempts}, retries ${info.retries}; the subscriber saw ${requests} requests`);

await app.close();
subscriber.close();
