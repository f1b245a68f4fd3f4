// send() resolves only once its job is on disk, and result() settles only once the
// outcome is: seen from outside the process, in the system calls. Reading the journal
// back cannot show this (the page cache answers, and SIGKILL keeps it), so a child runs
// under strace and every acknowledgement it prints (a write to fd 1) must come after the
// journal write holding that job's record returned, on a descriptor opened with O_DSYNC
// (or followed by an fdatasync/fsync of the journal before the acknowledgement).
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ROOT, tempDir } from './helpers.js';
import { fdArg, fdReturned, parseStrace, straceWorks, writtenBytes, type Syscall } from './strace-log.js';

const CHILD = fileURLToPath(new URL('./fixtures/sync/ack.ts', import.meta.url));
const JOURNAL = /\/journal-\d{8}\.log$/;
const WRITES = new Set(['write', 'pwrite64', 'pwritev', 'pwritev2']);
const SENT_BEFORE_START = 4;

function runTraced(log: string, dir: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const args = ['-f', '-qq', '-y', '-xx', '-s', '65536', '-e', 'trace=openat,write,pwrite64,pwritev,pwritev2,fdatasync,fsync', '-o', log];
  const child = spawn('strace', [...args, process.execPath, '--import', 'tsx', CHILD, dir, String(SENT_BEFORE_START)], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the traced child did not finish within 180 s\n${stdout}\n${stderr}`));
    }, 180_000);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

test('every send() and result() acknowledgement follows the durable journal write of its record', async (t) => {
  const strace = straceWorks();
  if (!strace.ok) {
    // CI installs strace (.ci/run): there a missing strace is a failure, not a skip.
    if (process.env.CI === 'true') assert.fail(`CI=true but ${strace.why}`);
    t.skip(strace.why);
    return;
  }
  const tmp = await tempDir(t);
  const log = join(tmp, 'strace.log');
  const run = await runTraced(log, join(tmp, 'data'));
  assert.equal(run.code, 0, `the child failed:\n${run.stdout}\n${run.stderr}`);
  const calls = parseStrace(await readFile(log, 'utf8'));

  const opens = new Map<string, { exit: number; durable: boolean }[]>();
  const journalWrites: (Syscall & { data: string; path: string })[] = [];
  const syncs: (Syscall & { path: string })[] = [];
  const acks: (Syscall & { kind: string; id: string })[] = [];
  for (const c of calls) {
    if (c.name === 'openat') {
      const fd = fdReturned(c.ret);
      if (fd && JOURNAL.test(fd.path)) {
        const key = `${fd.fd}:${fd.path}`;
        opens.set(key, [...(opens.get(key) ?? []), { exit: c.exit, durable: /\bO_(?:D)?SYNC\b/.test(c.args) }]);
      }
    } else if (WRITES.has(c.name)) {
      const fd = fdArg(c.args);
      const data = writtenBytes(c.args).toString();
      const ack = /^ACK (send|result) (\S+)\n$/.exec(data);
      if (fd?.fd === 1 && ack) acks.push({ ...c, kind: ack[1]!, id: ack[2]! });
      else if (fd && JOURNAL.test(fd.path)) journalWrites.push({ ...c, data, path: fd.path });
    } else if (c.name === 'fdatasync' || c.name === 'fsync') {
      const fd = fdArg(c.args);
      if (fd && JOURNAL.test(fd.path)) syncs.push({ ...c, path: fd.path });
    }
  }
  // Every job: its send and its result acknowledged (the child also printed them).
  const expected = SENT_BEFORE_START + 1;
  assert.equal(acks.filter((a) => a.kind === 'send').length, expected, `send acks in the trace; child stdout:\n${run.stdout}`);
  assert.equal(acks.filter((a) => a.kind === 'result').length, expected, `result acks in the trace; child stdout:\n${run.stdout}`);

  const problems: string[] = [];
  for (const ack of acks) {
    // The add record for a send; the success record for a result.
    const needle = `{"o":"${ack.kind === 'send' ? 'a' : 'd'}","i":${JSON.stringify(ack.id)}`;
    const write = journalWrites.find((w) => w.data.includes(needle));
    const what = `ACK ${ack.kind} ${ack.id} (log line ${ack.entry + 1})`;
    if (!write) {
      problems.push(`${what}: no journal write holds ${needle}`);
      continue;
    }
    if (write.exit > ack.entry) {
      problems.push(
        `${what}: printed before the journal write of its record returned (write entered at log line ${write.entry + 1}, returned at ${write.exit + 1})`,
      );
      continue;
    }
    const fd = fdArg(write.args)!;
    const open = (opens.get(`${fd.fd}:${fd.path}`) ?? []).filter((o) => o.exit < write.entry).at(-1);
    const synced = syncs.some((s) => s.path === write.path && s.entry > write.exit && s.exit < ack.entry);
    if (!open?.durable && !synced) {
      problems.push(
        `${what}: its record was written (log line ${write.entry + 1}) on a descriptor opened without O_DSYNC, and no fdatasync/fsync of the journal returned before the acknowledgement`,
      );
    }
  }
  assert.deepEqual(problems, [], problems.join('\n'));
});
