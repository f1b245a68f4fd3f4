import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT } from './helpers.js';

test('typed sends check argument and result types at compile time', () => {
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const res = spawnSync(
    process.execPath,
    [
      tsc,
      '--noEmit',
      '--strict',
      '--module',
      'NodeNext',
      '--moduleResolution',
      'NodeNext',
      '--target',
      'ES2022',
      '--skipLibCheck',
      '--types',
      'node',
      join(ROOT, 'test', 'types', 'typed-send.ts'),
    ],
    { encoding: 'utf8' },
  );
  assert.equal(res.status, 0, `tsc reported:\n${res.stdout}${res.stderr}`);
});

test('a type mistake in a send names the argument that is wrong, through app.send(def) as through def.send(app)', () => {
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const file = join(ROOT, 'test', 'fixtures', 'type-errors', 'send-mistakes.ts');
  const res = spawnSync(
    process.execPath,
    [
      tsc,
      '--noEmit',
      '--strict',
      '--module',
      'NodeNext',
      '--moduleResolution',
      'NodeNext',
      '--target',
      'ES2022',
      '--skipLibCheck',
      '--types',
      'node',
      '--pretty',
      'false',
      file,
    ],
    { encoding: 'utf8' },
  );
  const output = `${res.stdout}${res.stderr}`;
  // Each diagnostic: "file(line,col): error TSnnnn: text" and its indented follow-up lines.
  const found = new Map<number, string[]>();
  for (const d of output.split(/\n(?=\S)/)) {
    const m = /\((\d+),\d+\): error TS\d+: ([\s\S]*)/.exec(d);
    if (m) found.set(Number(m[1]), [...(found.get(Number(m[1])) ?? []), m[2]!]);
  }
  const expected = readFileSync(file, 'utf8')
    .split('\n')
    .map((line, i) => ({ line: i + 1, want: /\/\/ error: (.*)$/.exec(line)?.[1] }))
    .filter((e) => e.want !== undefined);
  assert.ok(expected.length >= 10, 'the fixture marks its mistakes');
  for (const { line, want } of expected) {
    const got = found.get(line) ?? [];
    assert.equal(got.length, 1, `line ${line}: expected one diagnostic containing "${want}", got:\n${got.join('\n') || output}`);
    assert.ok(got[0]!.includes(want!), `line ${line}: expected "${want}", got:\n${got[0]}`);
    assert.doesNotMatch(got[0]!, /No overload matches|not assignable to parameter of type 'string'/, `line ${line} names the wrong thing`);
  }
  const stray = [...found.keys()].filter((l) => !expected.some((e) => e.line === l));
  assert.deepEqual(stray, [], `diagnostics on unmarked lines:\n${output}`);
});

test('the whole project typechecks in strict mode: src, tests, examples, bench', () => {
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const res = spawnSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.json'), '--noEmit'], { encoding: 'utf8' });
  assert.equal(res.status, 0, `tsc reported:\n${res.stdout}${res.stderr}`);
});
