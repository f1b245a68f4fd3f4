#!/usr/bin/env node
// Runs the test files with node:test through tsx. Node 20's runner neither expands globs
// nor picks .ts files out of a directory, so the list is made here.
// Usage: node scripts/run-tests.mjs [dir-or-file ...]   (default: test/, not test/torture/)
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
const targets = args.length ? args : ['test'];
const files = [];
const walk = (p, top) => {
  const st = statSync(p);
  if (st.isDirectory()) {
    for (const name of readdirSync(p).sort()) {
      if (name === 'fixtures' || name === 'node_modules') continue;
      if (top && name === 'torture') continue; // slow runs: npm run torture
      walk(join(p, name), false);
    }
  } else if (/\.test\.[cm]?ts$/.test(p)) files.push(relative(root, p));
};
for (const t of targets) walk(join(root, t), targets === args ? false : true);
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
const concurrency = process.env.TEST_CONCURRENCY ?? '2';
const res = spawnSync(process.execPath, ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, ...files], {
  cwd: root,
  stdio: 'inherit',
});
process.exit(res.status ?? 1);
