// A second real user for the tests about trust boundaries: created with useradd (as root),
// removed with userdel when the test ends. Without root the test skips, saying why; under
// CELERIAC_REQUIRE_ROOT_TESTS=1 (set by .ci/run, which runs as root) it fails instead, so
// that CI cannot pass these tests by skipping them.
import { execFileSync } from 'node:child_process';
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

/** A throwaway user with its own group and no home dir, deleted after the test. */
export function otherUser(t: TestContext): OtherUser {
  const name = `cel-t${randomBytes(5).toString('hex')}`;
  execFileSync('useradd', ['--no-create-home', '--user-group', '--shell', '/usr/sbin/nologin', name], { stdio: 'pipe' });
  t.after(() => {
    execFileSync('userdel', [name], { stdio: 'pipe' });
  });
  const id = (flag: string) => Number(execFileSync('id', [flag, name], { encoding: 'utf8' }).trim());
  return { name, uid: id('-u'), gid: id('-g') };
}
