// The parameter-list reader behind the arity check at send: what it reads from the JS
// source text of a function, and where it declines (undefined: the send is not checked).
import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { readParams } from '../src/pool/thread/read-params.js';
import { signature } from '../src/registry/signature.js';

// The exact source text matters here: eval'd, not transpiled by the test runner.
const fnOf = (src: string) => (0, eval)(`(${src})`) as (...args: never[]) => unknown;

describe('readParams', () => {
  const cases: [string, { list: string[]; min: number; max: number | null }][] = [
    ['function hash(text, rounds) { return text + rounds; }', { list: ['text', 'rounds'], min: 2, max: 2 }],
    ['function () {}', { list: [], min: 0, max: 0 }],
    [
      'async function fetchIt(url, opts = { retries: 3, codes: [500, 502] }) {}',
      { list: ['url', 'opts = { retries: 3, codes: [500, 502] }'], min: 1, max: 2 },
    ],
    ['function* gen(a, b) {}', { list: ['a', 'b'], min: 2, max: 2 }],
    ['async function * agen(a) {}', { list: ['a'], min: 1, max: 1 }],
    ['(a, b) => a + b', { list: ['a', 'b'], min: 2, max: 2 }],
    ['a => a', { list: ['a'], min: 1, max: 1 }],
    ['async a => a', { list: ['a'], min: 1, max: 1 }],
    ['async (a, b = 2) => a', { list: ['a', 'b = 2'], min: 1, max: 2 }],
    ['async => 1', { list: ['async'], min: 1, max: 1 }],
    ['() => 1', { list: [], min: 0, max: 0 }],
    ['(...xs) => xs', { list: ['...xs'], min: 0, max: null }],
    ['(first, ...rest) => rest', { list: ['first', '...rest'], min: 1, max: null }],
    ['({ url, method = "GET" }, [x, y] = [1, 2]) => url', { list: ['{ url, method = "GET" }', '[x, y] = [1, 2]'], min: 1, max: 2 }],
    ['(a, b = (1, 2), c = f(3, 4)) => a', { list: ['a', 'b = (1, 2)', 'c = f(3, 4)'], min: 1, max: 3 }],
    ['(a = ")", b = \'(,\', c = `x${(1, 2)}y,`) => a', { list: ['a = ")"', "b = '(,'", 'c = `x${(1, 2)}y,`'], min: 0, max: 3 }],
    ['(a /* , b */, c // d, e\n) => a', { list: ['a', 'c'], min: 2, max: 2 }],
    ['(a, b,) => a', { list: ['a', 'b'], min: 2, max: 2 }],
    ['(a = /[(,]/g, b) => a', { list: ['a = /[(,]/g', 'b'], min: 0, max: 2 }],
    ['(a = 1 >= 2, b = x => x, c = a == 1) => a', { list: ['a = 1 >= 2', 'b = x => x', 'c = a == 1'], min: 0, max: 3 }],
    ['(a,\n    b) => a', { list: ['a', 'b'], min: 2, max: 2 }],
    ['function legacy(a) { return arguments.length; }', { list: ['a'], min: 1, max: null }],
    ['(a, b = 1, c) => a', { list: ['a', 'b = 1', 'c'], min: 1, max: 3 }],
    ['données => données', { list: ['données'], min: 1, max: 1 }],
    ['async \u00e9t\u00e9 => 1', { list: ['\u00e9t\u00e9'], min: 1, max: 1 }],
  ];
  for (const [src, want] of cases) {
    test(src.replace(/\n/g, '\\n'), () => {
      assert.deepEqual(readParams(fnOf(src)), want);
    });
  }

  test('methods, computed and quoted names, getters of objects', () => {
    const o = (0, eval)(`({ run(a, b) {}, async go(x = 1) {}, *gen(a) {}, ['na' + 'me(x,'](p, q) {}, 'odd)name'(z) {} })`) as Record<
      string,
      (...a: never[]) => unknown
    >;
    assert.deepEqual(readParams(o.run!), { list: ['a', 'b'], min: 2, max: 2 });
    assert.deepEqual(readParams(o.go!), { list: ['x = 1'], min: 0, max: 1 });
    assert.deepEqual(readParams(o.gen!), { list: ['a'], min: 1, max: 1 });
    assert.deepEqual(readParams(o['name(x,']!), { list: ['p', 'q'], min: 2, max: 2 });
    assert.deepEqual(readParams(o['odd)name']!), { list: ['z'], min: 1, max: 1 });
  });

  test('declines what it cannot read with certainty: bound and native functions, classes', () => {
    assert.equal(readParams(fnOf('function f(a, b) {}').bind(null)), undefined);
    assert.equal(readParams(Math.max as never), undefined);
    assert.equal(readParams(fnOf('class A { constructor(a) {} }')), undefined);
  });

  test('a TypeScript task as the worker sees it (the function as compiled by the loader)', () => {
    const typed = (text: string, rounds = 10): string => text.repeat(rounds);
    const read = readParams(typed);
    // The loader may print the default without spaces (`rounds=10`).
    assert.deepEqual({ ...read, list: read?.list.map((p) => p.replace(/\s/g, '')) }, { list: ['text', 'rounds=10'], min: 1, max: 2 });
  });

  test('signature() shows the list, long defaults shortened', () => {
    assert.equal(signature('myapp.hash', { list: ['text', 'rounds'], min: 2, max: 2 }), 'myapp.hash(text, rounds)');
    assert.equal(signature('t', { list: [`a = "${'x'.repeat(60)}"`], min: 0, max: 1 }), `t(a = "${'x'.repeat(34)}…)`);
  });
});
