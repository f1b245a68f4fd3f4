// The README's "Example" runs as written: its two code blocks, copied into a fresh
// project that depends on the built package, print the hash the comment promises.
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readFile, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { promisify } from 'node:util';
import { ensureBuilt, project } from './cli-helpers.js';
import { ROOT } from './helpers.js';

const run = promisify(execFile);

before(() => ensureBuilt());

/** The fenced ts blocks of a README section, by the file name their first line gives (`// tasks/hash.ts — …`). */
function blocksOf(readme: string, heading: string): Record<string, string> {
  const start = readme.indexOf(`\n## ${heading}\n`);
  assert.ok(start >= 0, `the README has a "## ${heading}" section`);
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end < 0 ? undefined : end);
  const files: Record<string, string> = {};
  for (const m of section.matchAll(/```ts\n(\/\/ (\S+)[^\n]*\n[\s\S]*?)```/g)) files[m[2]!] = m[1]!;
  return files;
}

test("the README's Example runs as written and prints the task's result", async (t) => {
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
  const files = blocksOf(readme, 'Example');
  assert.deepEqual(Object.keys(files).sort(), ['main.ts', 'tasks/hash.ts']);
  const dir = await project(t, files);
  await mkdir(join(dir, 'node_modules'), { recursive: true });
  await symlink(ROOT, join(dir, 'node_modules', 'celeriac'));
  // The host runs a .ts file: the user's project has tsx, as the README's clone does.
  await symlink(join(ROOT, 'node_modules', 'tsx'), join(dir, 'node_modules', 'tsx'));
  const { stdout } = await run(process.execPath, ['--import', 'tsx', 'main.ts'], { cwd: dir, timeout: 120_000 });
  const expected = createHash('sha256').update('hello').digest('hex');
  assert.equal(stdout.trim(), expected);
  assert.match(files['main.ts']!, new RegExp(`'${expected.slice(0, 8)}…'`), 'the comment shows the start of that hash');
});
