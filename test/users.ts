// A second real user for the tests about trust boundaries: created with useradd (as root),
// removed with userdel when the test ends. Without root the test skips, saying why; under
// CELERIAC_REQUIRE_ROOT_TESTS=1 (set by .ci/run, which runs as root) it fails instead, so
// that CI cannot pass these tests by skipping them.
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { randomBytes } from 'node:crypto';
import type { TestContext } from 'node:test';

export interface OtherUser {
  name: string;
  uid: number;
  gid: number;
}

/** True when running as root; otherwise skips the test (or fails it under CELERIAC_REQUIRE_ROOT_TESTS=1). */
export function needRoot(t: TestContext, why: string): boolean {
  if (process.getuid?.() === 0) return true;
  const reason = `needs root (${why}): run the tests as root, as .ci/run does`;
  if (process.env.CELERIAC_REQUIRE_ROOT_TESTS === '1') throw new Error(`CELERIAC_REQUIRE_ROOT_TESTS=1 but ${reason}`);
  t.skip(reason);
  return false;
}

/**
 * True when a second user can run this node and read this checkout (the tests that run a
 * process as that user need both); otherwise the test skips, naming what blocks it: a
 * parent directory of either that other users cannot enter is the machine's layout, not
 * something celeriac does.
 */
export function reachableBy(t: TestContext, uid: number, gid: number): boolean {
  const probe = join(new URL('..', import.meta.url).pathname, 'package.json');
  const r = spawnSync(process.execPath, ['-e', `require('node:fs').accessSync(${JSON.stringify(probe)})`], { uid, gid, encoding: 'utf8' });
  if (r.status === 0) return true;
  t.skip(
    `uid ${uid} cannot run ${process.execPath} or read ${probe} (${r.error?.message ?? r.stderr.trim().split('\n')[0]}): a parent directory is closed to other users`,
  );
  return false;
}

/** A throwaway user with its own group and no home dir, deleted after the test. */
export function otherUser(t: TestContext): OtherUser {
  const name = `cel-t${randomBytes(5).toString('hex')}`;
  execFileSync('useradd', ['--no-create-home', '--user-group', '--shell', '/usr/sbin/nologin', name], { stdio: 'pipe' });
  const id = (flag: string) => Number(execFileSync('id', [flag, name], { encoding: 'utf8' }).trim());
  const user = { name, uid: id('-u'), gid: id('-g') };
  // userdel refuses while a process of the user lives, and a process killed a moment ago
  // stays until its parent (this process) reaps it: kill them all, then wait for them to go.
  t.after(async () => {
    for (let round = 0; round < 100; round++) {
      const left = processesOf(user.uid);
      if (left.length === 0) break;
      for (const pid of left) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {}
      }
      await sleep(100);
    }
    execFileSync('userdel', [name], { stdio: 'pipe' });
  });
  return user;
}

/** The pids of the processes whose real uid is `uid`, read from /proc. */
function processesOf(uid: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let status: string;
    try {
      status = readFileSync(`/proc/${entry}/status`, 'utf8');
    } catch {
      continue;
    }
    if (Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]) === uid) pids.push(Number(entry));
  }
  return pids;
}
