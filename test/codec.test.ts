// The restart path decodes the common records straight from bytes (store/fast-decode.ts);
// everything else goes through decodeEvent. Both must give exactly the same jobs, and a
// record the general path refuses must be refused on the fast path too.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FastDecoder } from '../src/store/fast-decode.js';
import { decodeEvent, decodeLine, encodeEvent, encodeJob, frame, frameAll } from '../src/store/codec.js';
import { JOB_STATES, type JobEvent, type JobRecord, type NewJob } from '../src/jobs.js';

const IDS = ['7d1f0c9e-9d4b-4c1e-8a57-3c2e3f1b2a10', 'order-42', 'ünïcødé-✓', 'with "quotes"', 'back\\slash', 'tab\tand\nnewline', 'a'];
const ARGS = [
  '[]',
  '[1,"two",{"three":3}]',
  '[{"id":1,"kind":"noop","tenant":"tenant-1","pad":"xxxxxxxx"}]',
  '["é ✓ \\" \\\\"]',
  '[null,true,false,-1.5e-7]',
];

function jobs(): JobRecord[] {
  const out: JobRecord[] = [];
  let n = 0;
  for (const id of IDS) {
    // 'reserved' lives in memory only: it is written as pending (tested below).
    for (const state of JOB_STATES.filter((st) => st !== 'reserved')) {
      for (const args of ARGS) {
        n++;
        const job: JobRecord = {
          id: `${id}-${n}`,
          task: n % 3 === 0 ? 'archiver.update' : 'demo.echo',
          args,
          state,
          attempts: n % 4,
          retries: n % 3,
          priority: [0, 5, -3][n % 3]!,
          createdAt: 1_795_680_000_000 + n,
          runAt: n % 2 ? 0 : 1_795_690_000_000 + n,
          expiresAt: n % 5 ? 0 : 1_795_700_000_000,
          recovered: n % 7 === 0,
        };
        if (n % 4 === 1) job.maxRetries = n % 8 === 1 ? Number.POSITIVE_INFINITY : 7;
        if (n % 6 === 2) job.retryDelay = 180_000;
        if (n % 5 === 2) job.queue = n % 2 ? 'io' : 'mail.outbound';
        if (state !== 'pending') job.startedAt = 1_795_680_000_500 + n;
        if (state === 'succeeded' || state === 'failed' || state === 'cancelled' || state === 'expired')
          job.finishedAt = 1_795_680_001_000 + n;
        if (state === 'succeeded' && n % 2) job.result = ['42', '"text"', '{"ok":true,"quote":"\\""}', 'null'][n % 4]!;
        if (state !== 'pending' && n % 3 === 1) job.progress = ['42.5', '{"stage":"fetch","a":[1],"note":",\\"a\\":[2]"}'][n % 2]!;
        if (state === 'failed' || state === 'retrying')
          job.error = {
            name: 'Error',
            message: `boom "${n}"`,
            ...(n % 2 ? { stack: 'Error: boom\n    at x (y.ts:1:2)' } : {}),
            ...(n % 3 ? { code: 'E_X' } : {}),
            ...(n % 5 === 0
              ? {
                  cause: {
                    name: 'Error',
                    message: 'text like ,"a":[1] inside',
                    code: 'ECONNREFUSED',
                    cause: { name: 'X', message: 'deepest', stack: 'X: deepest\n    at z' },
                  },
                }
              : {}),
          };
        out.push(job);
      }
    }
  }
  return out;
}

function adds(): NewJob[] {
  return jobs().map((j) => {
    const add: NewJob = {
      id: j.id,
      task: j.task,
      args: j.args as string,
      createdAt: j.createdAt,
      runAt: j.runAt,
      expiresAt: j.expiresAt,
      priority: j.priority,
    };
    if (j.maxRetries !== undefined) add.maxRetries = j.maxRetries;
    if (j.retryDelay !== undefined) add.retryDelay = j.retryDelay;
    if (j.queue !== undefined) add.queue = j.queue;
    return add;
  });
}

/** One file's worth of lines and where each sits, as the store reads them. */
function linesOf(jsons: string[]): { buf: Buffer; at: Array<[number, number]> } {
  const text = jsons.map(frame).join('');
  const buf = Buffer.from(text);
  const at: Array<[number, number]> = [];
  let pos = 0;
  while (pos < buf.length) {
    const nl = buf.indexOf(0x0a, pos);
    at.push([pos, nl]);
    pos = nl + 1;
  }
  return { buf, at };
}

/**
 * Decode every line both ways and check they agree with each other and with what was
 * encoded. Returns how many lines the fast path took.
 */
function decodeBothWays(jsons: string[], expected: (i: number) => unknown): number {
  const { buf, at } = linesOf(jsons);
  const fast = new FastDecoder();
  let tookFastPath = 0;
  for (let i = 0; i < jsons.length; i++) {
    const [start, end] = at[i]!;
    const general = decodeEvent(jsons[i]!);
    assert.deepEqual(general, expected(i), `the general path round-trips record ${i}`);
    assert.deepEqual(decodeLine(buf, start, end, fast), general, `record ${i}: ${jsons[i]}`);
    if (fast.decode(buf, start + 9, end)) tookFastPath++;
  }
  return tookFastPath;
}

test('snapshot job lines decode the same from bytes as through decodeEvent, in every state and with every optional field', () => {
  const all = jobs();
  const tookFastPath = decodeBothWays(all.map(encodeJob), (i) => ({ type: 'job', job: all[i] }));
  // The point of the fast path: plain jobs (no escapes, no error object) take it.
  const plain = all.filter(
    (j) =>
      j.error === undefined &&
      !/["\\\t\n]/.test(j.id) &&
      (j.result === undefined || !j.result.includes('"')) &&
      (j.progress === undefined || !j.progress.includes('"')),
  ).length;
  assert.equal(tookFastPath, plain, 'every plain job line is decoded from bytes');
  assert.ok(plain > 50, `only ${plain} plain jobs in the sample`);
});

test('journal add lines decode the same from bytes as through decodeEvent', () => {
  const all = adds();
  const tookFastPath = decodeBothWays(
    all.map((job) => encodeEvent({ type: 'add', job })),
    (i) => ({ type: 'add', job: all[i] }),
  );
  assert.equal(tookFastPath, all.filter((j) => !/["\\\t\n]/.test(j.id)).length);
});

test('other journal records pass through the general path unchanged', () => {
  const events: JobEvent[] = [
    { type: 'start', id: 'x', at: 1 },
    { type: 'succeed', id: 'x', at: 2, result: '[1,2]' },
    { type: 'fail', id: 'x', at: 3, error: { name: 'TypeError', message: 'no' } },
    {
      type: 'fail',
      id: 'y',
      at: 3,
      error: {
        name: 'TypeError',
        message: 'fetch failed',
        cause: { name: 'Error', message: 'connect ECONNREFUSED', code: 'ECONNREFUSED' },
      },
    },
    { type: 'retry', id: 'x', at: 4, runAt: 9, error: { name: 'E', message: 'later' }, args: '[3]' },
    { type: 'cancel', id: 'x', at: 5 },
    { type: 'expire', id: 'x', at: 6 },
    { type: 'requeue', id: 'x', at: 7, revert: true },
    { type: 'forget', id: 'x', at: 8 },
    { type: 'progress', id: 'x', at: 9, value: '{"stage":"fetch","a":[1]}' },
    { type: 'progress', id: 'x', at: 10, value: '7' },
  ];
  const jsons = events.map(encodeEvent);
  const { buf, at } = linesOf(jsons);
  const fast = new FastDecoder();
  events.forEach((ev, i) => {
    assert.equal(fast.decode(buf, at[i]![0] + 9, at[i]![1]), undefined, `${ev.type} is not a fast-path record`);
    assert.deepEqual(decodeLine(buf, at[i]![0], at[i]![1], fast), ev);
  });
});

test('a checksummed line the general path refuses is refused on the fast path too', () => {
  const bad = [
    '{"o":"j","i":"a","n":"t","s":"bogus","k":0,"y":0,"t":1,"a":[]}', // unknown state
    '{"o":"j","i":"a","n":"t","s":"pending","k":01,"y":0,"t":1,"a":[]}', // leading zero: not JSON
    '{"o":"j","i":"a\u0001b","n":"t","s":"pending","k":0,"y":0,"t":1,"a":[]}', // raw control character in a string
    '{"o":"a","i":"a","n":"t","a":[]}', // add without its creation time
    '{"o":"j","i":"a","n":"t","s":"pending","y":0,"t":1,"a":[]}', // job without attempts
  ];
  const { buf, at } = linesOf(bad);
  const fast = new FastDecoder();
  bad.forEach((json, i) => {
    assert.throws(() => decodeEvent(json), Error, `general path refuses ${json}`);
    assert.throws(() => decodeLine(buf, at[i]![0], at[i]![1], fast), Error, `fast path refuses ${json}`);
  });
});

test('a batch framed at once is byte for byte the records framed one by one, ASCII or not', () => {
  const ascii = adds()
    .filter((j) => /^[\x20-\x7e]*$/.test(j.id + j.args))
    .map((job) => encodeEvent({ type: 'add', job }));
  const mixed = jobs().map(encodeJob);
  assert.ok(ascii.length > 10 && mixed.some((j) => /[^\x00-\x7f]/.test(j)), 'the samples cover both cases');
  // Records wider in UTF-8 than in UTF-16 units (the buffer is sized for ASCII and must grow), at the start, middle and end.
  const wide = ['€', '😀', 'é'].map((c, i) =>
    encodeEvent({ type: 'add', job: { ...adds()[0]!, id: `wide-${i}`, args: JSON.stringify([c.repeat(3000)]) } }),
  );
  // Into the caller's buffer (the journal's, reused by every flush): over what an earlier batch left, or a fresh one when it is too small.
  const into = Buffer.alloc(64 * 1024, 0x2a);
  for (const jsons of [ascii, mixed, [mixed[0]!], [], wide, [...ascii, ...wide], [...wide, ...ascii], [wide[1]!, ...mixed, wide[0]!]]) {
    const expected = Buffer.from(jsons.map(frame).join(''));
    assert.deepEqual(frameAll(jsons), expected);
    const framed = frameAll(jsons, into);
    assert.deepEqual(framed, expected);
    assert.equal(framed.buffer === into.buffer, expected.length <= into.length, 'framed in the given buffer when the batch fits');
  }
});

test('peek (the journal index before decoding) names the same job and priority as a full decode, or declines', () => {
  const events: JobEvent[] = [];
  for (const job of adds()) events.push({ type: 'add', job });
  for (const id of IDS) {
    events.push(
      { type: 'start', id, at: 1 },
      { type: 'succeed', id, at: 2, result: '"a,\\"p\\":9"' },
      { type: 'fail', id, at: 3, error: { name: 'E', message: '"p":7' } },
    );
    events.push(
      { type: 'retry', id, at: 4, runAt: 9, error: { name: 'E', message: 'x' } },
      { type: 'cancel', id, at: 5 },
      { type: 'expire', id, at: 6 },
    );
    events.push(
      { type: 'requeue', id, at: 7, revert: false },
      { type: 'forget', id, at: 8 },
      { type: 'progress', id, at: 9, value: '{"p":3}' },
    );
  }
  // A task name that looks like a key must not be taken for one.
  events.push({ type: 'add', job: { id: 'tricky', task: 'a,"p":5', args: '[]', createdAt: 1, runAt: 0, expiresAt: 0, priority: -2 } });
  const jsons = events.map(encodeEvent);
  const { buf, at } = linesOf(jsons);
  const fast = new FastDecoder();
  let peeked = 0;
  events.forEach((ev, i) => {
    const got = fast.peek(buf, at[i]![0] + 9, at[i]![1]);
    if (!got) return;
    peeked++;
    const id = ev.type === 'add' ? ev.job.id : ev.id;
    assert.equal(buf.toString('utf8', got.idFrom, got.idTo), id, jsons[i]);
    assert.equal(got.kind === 0x61, ev.type === 'add', jsons[i]);
    if (ev.type === 'add') assert.equal(got.priority, ev.job.priority, jsons[i]);
  });
  const escaped = (text: string) => /["\\\t\n]/.test(text);
  const plain = events.filter((ev) => (ev.type === 'add' ? !escaped(ev.job.id) && !escaped(ev.job.task) : !escaped(ev.id))).length;
  assert.equal(peeked, plain, 'every record with a plain id (and task name) is peeked');
  // A priority given twice is left to the general path (JSON.parse keeps the last).
  const twice = linesOf(['{"o":"a","i":"d","n":"t","t":1,"p":1,"p":2,"a":[]}']);
  assert.equal(fast.peek(twice.buf, twice.at[0]![0] + 9, twice.at[0]![1]), undefined);
});

test('a reserved job (taken by the dispatcher, in memory only) is written to a snapshot as pending', () => {
  const job = { ...jobs()[0]!, id: 'r-1', state: 'reserved' } as JobRecord;
  const decoded = decodeEvent(encodeJob(job));
  assert.equal(decoded.type, 'job');
  assert.equal((decoded as { job: JobRecord }).job.state, 'pending');
});
