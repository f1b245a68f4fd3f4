import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT } from './helpers.js';

test('typed sends check argument and result types at compile time', () => {
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const res = spawnSync(process.execPath, [tsc, '--noEmit', '--strict', '--module', 'NodeNext', '--moduleResolution', 'NodeNext', '--target', 'ES2022', '--skipLibCheck', '--types', 'node', join(ROOT, 'test', 'types', 'typed-send.ts')], { encoding: 'utf8' });
  assert.equal(res.status, 0, `tsc reported:\n${res.stdout}${res.stderr}`);
});

test('the whole project typechecks in strict mode: src, tests, examples, bench', () => {
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const res = spawnSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.json'), '--noEmit'], { encoding: 'utf8' });
  assert.equal(res.status, 0, `tsc reported:\n${res.stdout}${res.stderr}`);
});
