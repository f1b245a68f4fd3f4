// The client socket under abuse: bad frames, an oversized frame, a client that never
// reads, another uid. Each is refused or cut off with a logged reason, and the worker
// goes on serving its other clients.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { chmod, mkdir } from 'node:fs/promises';
import { createConnection, type Socket } from 'node:net';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { createClient, type Celeriac } from '../src/index.js';
import { encodeFrame } from '../src/socket/frame.js';
import { CLIENT_SOCKET_FILE, MAX_REQUEST_BYTES } from '../src/socket/protocol.js';
import { serveClients } from '../src/socket/serve.js';
import { openApp, tempDir, waitFor } from './helpers.js';
import { needRoot, otherUser, reachableBy } from './users.js';

async function appWithLog(t: TestContext): Promise<{ app: Celeriac; dir: string; root: string; warnings: string[] }> {
  const root = await tempDir(t);
  const dir = join(root, 'data');
  const warnings: string[] = [];
  const app = await openApp(t, {
    dir,
    logger: { info: () => undefined, warn: (m: string) => warnings.push(m), error: (m: string) => warnings.push(m) },
  });
  await app.start();
  return { app, dir, root, warnings };
}

function connectRaw(t: TestContext, path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = createConnection(path);
    t.after(() => s.destroy());
    s.once('error', reject);
    s.once('connect', () => {
      s.off('error', reject);
      s.on('error', () => undefined);
      resolve(s);
    });
  });
}

const closedBy = (s: Socket) => new Promise<void>((resolve) => (s.closed ? resolve() : s.once('close', () => resolve())));

/** A client of the same dir can still send and get a result. */
async function stillServes(dir: string): Promise<void> {
  const client = await createClient({ dir });
  try {
    const h = await client.send('math.add', [40, 2]);
    assert.equal(h.inboxFile, undefined, 'over the socket, not the inbox');
    assert.equal(await h.result({ timeout: 10 }), 42);
  } finally {
    client.close();
  }
}

const header = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n, 0);
  return b;
};

const BAD: [string, Buffer, RegExp][] = [
  ['text that is no frame', Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), /over the limit/],
  ['a frame whose body is not JSON', Buffer.concat([header(5), Buffer.from('{nope')]), /is not JSON/],
  ['a JSON frame that is not a request', encodeFrame([1, 2, 3]), /malformed request: a request must be a JSON object/],
  ['a request with an unknown op', encodeFrame({ id: 1, op: 'rm -rf' }), /malformed request: request 1: unknown "op"/],
  [
    'a frame announced over the limit (its body never sent)',
    header(MAX_REQUEST_BYTES + 1),
    new RegExp(`announced ${MAX_REQUEST_BYTES + 1} bytes, over the limit of ${MAX_REQUEST_BYTES}`),
  ],
];

for (const [what, bytes, reason] of BAD) {
  test(`${what}: that connection is closed with a logged reason; the worker serves the rest`, { timeout: 120_000 }, async (t) => {
    const { dir, warnings } = await appWithLog(t);
    const bystander = await createClient({ dir });
    t.after(() => bystander.close());
    assert.equal(await bystander.connected(), true);
    const raw = await connectRaw(t, join(dir, CLIENT_SOCKET_FILE));
    raw.write(bytes);
    await closedBy(raw);
    assert.ok(
      warnings.some((w) => /client socket: closed client connection #\d+: /.test(w) && reason.test(w)),
      `logged reason, got:\n${warnings.join('\n')}`,
    );
    await stillServes(dir);
    assert.equal(await (await bystander.send('math.add', [1, 1])).result({ timeout: 10 }), 2, 'a client connected before is not affected');
  });
}

test('a client that sends requests and never reads the replies is no longer read from: the worker does not buffer for it without bound, and serves the rest', {
  timeout: 180_000,
}, async (t) => {
  const { app, dir } = await appWithLog(t);
  await app.sendMany(
    'demo.echo',
    Array.from({ length: 500 }, (_, i) => [`waiting ${i}`.padEnd(100, '.')]),
    { countdown: 3600 },
  );
  const raw = await connectRaw(t, join(dir, CLIENT_SOCKET_FILE));
  raw.pause(); // never reads
  const request = (id: number) => encodeFrame({ id, op: 'list', options: { limit: 500 } }); // replies of ~100 kB
  let sent = 0;
  // The worker stops reading this client once its replies wait unread; then the client's
  // own writes back up (its kernel buffer full, then its Node buffer).
  await waitFor(
    () => {
      for (let i = 0; i < 50; i++) raw.write(request(sent++));
      return raw.writableLength > 8 * 1024 * 1024;
    },
    60_000,
    'the worker to stop reading the client that does not read',
  );
  assert.equal(raw.destroyed, false, 'it is held back, not dropped, while it sends nothing more');
  t.diagnostic(`${sent} requests written; ${raw.writableLength} bytes of them not taken by the worker`);
  await stillServes(dir);
});

test('a client subscribed to events that never reads them is disconnected at the limit with a logged reason', {
  timeout: 180_000,
}, async (t) => {
  const { app, dir, root, warnings } = await appWithLog(t);
  // A second socket of the same app, with small limits so that a few MB of events reach them.
  const spare = join(root, 'spare');
  await mkdir(spare, { mode: 0o700 });
  const server = await serveClients(
    app,
    spare,
    { warn: (m) => warnings.push(m) },
    { maxRequestBytes: 1024, pauseAboveBytes: 64 * 1024, dropAboveBytes: 256 * 1024, maxInFlight: 16 },
  );
  t.after(() => server?.close());
  const raw = await connectRaw(t, join(spare, CLIENT_SOCKET_FILE));
  raw.write(encodeFrame({ id: 0, op: 'subscribe', events: ['received'] }));
  raw.pause();
  await waitFor(() => server!.connections === 1, 5000, 'the connection');
  const dropped = () => warnings.some((w) => /does not read what it is sent/.test(w));
  for (let i = 0; i < 40 && !dropped(); i++) {
    await app.sendMany(
      'demo.echo',
      Array.from({ length: 500 }, () => ['x'.repeat(200)]),
      { countdown: 3600 },
    );
  }
  await waitFor(dropped, 30_000, 'the worker to drop the client that does not read');
  await waitFor(() => server!.connections === 0, 10_000, "the connection to be gone on the worker's side");
  assert.ok(
    warnings.some((w) =>
      /client socket: closed client connection #1: it does not read what it is sent \(\d+ bytes wait, over the limit of 262144\)/.test(w),
    ),
    warnings.join('\n'),
  );
  await stillServes(dir);
});

test('another uid cannot connect to the client socket (the dir is 0700, the socket 0600); the worker serves its own user', async (t) => {
  if (!needRoot(t, 'connecting as a second uid takes setuid')) return;
  const { dir, root } = await appWithLog(t);
  const user = otherUser(t);
  if (!reachableBy(t, user.uid, user.gid)) return;
  await chmod(root, 0o711); // let the other user reach the data dir, so the dir's own mode is what stops it
  const tryConnect = () =>
    spawnSync(
      process.execPath,
      [
        '-e',
        `require('node:net').createConnection(${JSON.stringify(join(dir, CLIENT_SOCKET_FILE))}).on('connect', () => { console.log('CONNECTED'); process.exit(0); }).on('error', (e) => { console.log(e.code); process.exit(0); })`,
      ],
      { uid: user.uid, gid: user.gid, encoding: 'utf8', timeout: 30_000 },
    );
  assert.equal(tryConnect().stdout.trim(), 'EACCES', 'the 0700 dir keeps it out');
  await chmod(dir, 0o711); // even with the dir open to pass through, the socket's own mode refuses
  try {
    assert.equal(tryConnect().stdout.trim(), 'EACCES', 'the 0600 socket keeps it out');
  } finally {
    await chmod(dir, 0o700);
  }
  await stillServes(dir);
});
