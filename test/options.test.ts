// The options table (src/app/options.ts) is the one source of each option's check and
// default: createCeleriac(), a config file and a CLI flag refuse a bad value with the same
// words, and what the docs and --help say an option defaults to is what the app does.
import { strict as assert } from 'node:assert';
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { OPTION_KEYS, OPTIONS, type OptionFlag, type OptionKey, type OptionSpec } from '../src/app/options.js';
import { UsageError } from '../src/cli/usage-error.js';
import { optionFlagHelp, optionsFromFlags } from '../src/cli/option-flags.js';
import { validateConfig } from '../src/config.js';
import { type CeleriacError, createCeleriac, type CeleriacOptions } from '../src/index.js';
import { MAX_CONCURRENCY } from '../src/limits.js';
import { fixture, openApp, ROOT, tempDir } from './helpers.js';

/** A value each option refuses (most refuse `true`). */
const BAD: Partial<Record<OptionKey, unknown>> = { watch: 'yes', logJobs: 'yes', start: 'yes', schedules: 7, queues: 7 };
const bad = (key: OptionKey) => (key in BAD ? BAD[key] : true);

/** A broker URL nothing is asked of: the checks refuse the bad value before any connection. */
const BROKER = 'redis://127.0.0.1:1';

async function refusal(run: () => unknown): Promise<CeleriacError> {
  try {
    await run();
  } catch (err) {
    return err as CeleriacError;
  }
  assert.fail('it was accepted');
}

const fileKeys = OPTION_KEYS.filter((key) => OPTIONS[key].inFile);

test('a bad value is refused with the same INVALID_CONFIG words by createCeleriac() and by a config file, each naming the option', async (t) => {
  const dir = await tempDir(t);
  const file = '/srv/app/celeriac.config.json';
  assert.ok(fileKeys.length >= 18, `the config takes ${fileKeys.join(', ')}`);
  for (const key of fileKeys) {
    // "dir" and "queue" are checked once "broker" says the data dir is not needed / a queue is.
    const options = { dir, tasks: [fixture('tasks')], ...(key === 'dir' || key === 'queue' ? { broker: BROKER } : {}), [key]: bad(key) };
    const inCode = await refusal(() => createCeleriac(options as CeleriacOptions));
    const inFile = await refusal(() => validateConfig({ [key]: bad(key) }, file));
    assert.equal(inCode.code, 'INVALID_CONFIG', `${key}: ${inCode.message}`);
    assert.equal(inFile.code, 'INVALID_CONFIG', `${key}: ${inFile.message}`);
    assert.ok(inFile.message.startsWith(`${file}: `), inFile.message);
    assert.ok(inFile.message.includes(`"${key}"`) || inFile.message.includes(`${key}[`), `${key}: the message names it: ${inFile.message}`);
    assert.equal(inFile.message, inCode.message.replaceAll('createCeleriac()', file), `${key}: the same check in code and in a file`);
  }
});

test('what only code can give is refused in a config file, and createCeleriac() checks it', async (t) => {
  const dir = await tempDir(t);
  const codeOnly = OPTION_KEYS.filter((key) => !OPTIONS[key].inFile);
  assert.deepEqual(codeOnly.sort(), ['cwd', 'logJobs', 'logger', 'signal', 'start']);
  for (const key of codeOnly) {
    const inFile = await refusal(() => validateConfig({ [key]: bad(key) }, 'c.json'));
    assert.match(inFile.message, new RegExp(`c\\.json: unknown key "${key}"`));
    const inCode = await refusal(() => createCeleriac({ dir, tasks: [fixture('tasks')], [key]: bad(key) } as CeleriacOptions));
    assert.equal(inCode.code, 'INVALID_CONFIG', inCode.message);
    assert.match(inCode.message, new RegExp(`^createCeleriac\\(\\): "${key}" must be`));
  }
});

/** The words of a refusal, without where the value came from and without the value. */
function words(message: string, key: OptionKey, flag: OptionFlag): string {
  return message
    .replace(`createCeleriac(): "${key}"`, '')
    .replace(`--${flag.name}: "${key}"`, '')
    .replace('createCeleriac(): ', '')
    .replace(`--${flag.name}: `, '')
    .replace(`--${flag.name}`, '')
    .replace(/[,;] got .*$/s, '')
    .replace(/"?a b"?/g, 'VALUE');
}

test('every option flag sets an option of createCeleriac() through its check: the same refusal, naming the flag', async (t) => {
  const dir = await tempDir(t);
  const flagged = OPTION_KEYS.flatMap((key) => {
    const flag: OptionFlag | undefined = (OPTIONS[key] as { flag?: OptionFlag }).flag;
    return flag?.arg ? [[key, flag] as const] : [];
  });
  assert.ok(flagged.length >= 11, flagged.map(([key]) => key).join(', '));
  for (const [key, flag] of flagged) {
    assert.ok(OPTION_KEYS.includes(key));
    // A text no option takes: not a number, a URL or a queue name; '' where any text is a path.
    let text = 'a b';
    if (!(await refusal(() => optionsFromFlags({ [flag.name]: flag.multiple ? [text] : text })).catch(() => undefined))) text = '';
    const given = flag.multiple ? [text] : text;
    const fromFlag = await refusal(() => optionsFromFlags({ [flag.name]: given }));
    assert.ok(fromFlag instanceof UsageError, `--${flag.name}: a usage error, got ${String(fromFlag)}`);
    assert.ok(fromFlag.message.startsWith(`--${flag.name}`), fromFlag.message);
    const value = flag.parse ? flag.parse(text) : given;
    const options = { dir, tasks: [fixture('tasks')], ...(key === 'dir' || key === 'queue' ? { broker: BROKER } : {}), [key]: value };
    const inCode = await refusal(() => createCeleriac(options as CeleriacOptions));
    assert.equal(inCode.code, 'INVALID_CONFIG', `${key}: ${inCode.message}`);
    assert.equal(words(fromFlag.message, key, flag), words(inCode.message, key, flag), `--${flag.name} and "${key}" refuse alike`);
  }
  // A good value passes as the option's value.
  assert.deepEqual(optionsFromFlags({ prefetch: '8', 'result-ttl': '2h', queues: 'io:2,default:1', watch: true }), {
    prefetch: 8,
    resultTtl: '2h',
    watch: true,
    queues: { io: 2, default: 1 },
  });
});

test('the defaults the table holds are what an app does, what --help says and what the TSDoc @default says', async (t) => {
  const app = await openApp(t);
  assert.equal(OPTIONS.concurrency.default, Math.min(availableParallelism(), MAX_CONCURRENCY));
  assert.equal(app.poolSize, OPTIONS.concurrency.default, 'the pool has the default concurrency');
  const help = optionFlagHelp(true, 30).join('\n');
  for (const key of ['prefetch', 'workerConcurrency', 'resultTtl', 'shutdownTimeout'] as const) {
    const flag = OPTIONS[key].flag;
    assert.match(help, new RegExp(`--${flag.name} .*\\(default: ${OPTIONS[key].default}\\)`), `--help gives ${key}'s default`);
  }
  assert.match(help, new RegExp(`--concurrency .*\\(default: ${OPTIONS.concurrency.defaultHelp}\\)`));
  // Every option's TSDoc carries an @default; where the table holds a plain value, the tag starts with it.
  const source = await readFile(join(ROOT, 'src', 'app', 'options.ts'), 'utf8');
  const docs = source.slice(
    source.indexOf('export interface CeleriacOptions'),
    source.indexOf('\n}\n', source.indexOf('export interface CeleriacOptions')),
  );
  const tags = new Map(
    [...docs.matchAll(/\/\*\*((?:(?!\*\/)[\s\S])*)\*\/\s*(\w+)\?:/g)].map((m) => [m[2]!, /@default (.*)/.exec(m[1]!)?.[1]]),
  );
  assert.deepEqual([...tags.keys()].sort(), [...OPTION_KEYS].sort(), 'every option is documented in CeleriacOptions');
  for (const key of OPTION_KEYS) {
    const tag = tags.get(key);
    if (key === 'dir') continue; // required unless broker: no default to give
    assert.ok(tag, `${key} has an @default tag`);
    const spec: OptionSpec<unknown, unknown> = OPTIONS[key];
    const value = spec.default;
    if (spec.defaultHelp !== undefined) assert.equal(tag, spec.defaultHelp, `${key}'s @default`);
    else if (typeof value === 'number' || typeof value === 'boolean') assert.equal(tag.split(' ')[0], String(value), `${key}'s @default`);
    else if (typeof value === 'string' && key !== 'cwd') assert.equal(tag, `'${value}'`, `${key}'s @default`);
  }
});

test('a config file may set every option it takes, with the values createCeleriac() takes', () => {
  const config = validateConfig(
    {
      dir: 'data',
      broker: BROKER,
      queue: 'jobs',
      tasks: 'tasks',
      plugins: ['celeriac-plugin-hello'],
      concurrency: 2,
      workerConcurrency: 2,
      prefetch: 8,
      resultTtl: '2h',
      shutdownTimeout: 5,
      timeoutGrace: '500ms',
      maxMemoryMb: 256,
      maxWorkerLosses: 1,
      maxResultBytes: 1024,
      compactAfterBytes: 4096,
      watch: false,
      schedules: { nightly: { cron: '0 3 * * *', task: 'demo.echo' } },
      queues: { io: 2 },
    },
    'c.json',
  );
  assert.deepEqual(Object.keys(config), fileKeys, 'one good value for each key a file takes');
});
