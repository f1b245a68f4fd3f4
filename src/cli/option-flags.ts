// The flags that set createCeleriac() options, derived from the options table
// (src/app/options.ts): their parseArgs specs, their --help lines with the table's
// defaults, and their values checked by the option's own check.
import type { ParseArgsConfig } from 'node:util';
import { flagSite } from '../app/option-checks.js';
import { checkOption, defaultHelp, OPTION_KEYS, OPTIONS, type OptionFlag, type OptionKey, type OptionSpec } from '../app/options.js';
import type { CeleriacConfig } from '../config.js';
import { CeleriacError } from '../errors.js';
import { UsageError } from './usage-error.js';

type ParseOptions = NonNullable<ParseArgsConfig['options']>;

/** The options with a flag: the worker's own (`workerOnly`) or those every command takes. */
function flagged(workerOnly: boolean): [OptionKey, OptionFlag][] {
  return OPTION_KEYS.flatMap((key) => {
    const spec: OptionSpec<unknown, unknown> = OPTIONS[key];
    return spec.flag && (spec.flag.workerOnly === true) === workerOnly ? [[key, spec.flag] as [OptionKey, OptionFlag]] : [];
  });
}

export function optionFlagSpecs(workerOnly: boolean): ParseOptions {
  const specs: ParseOptions = {};
  for (const [, flag] of flagged(workerOnly)) {
    specs[flag.name] = {
      type: flag.arg ? 'string' : 'boolean',
      ...(flag.short ? { short: flag.short } : {}),
      ...(flag.multiple ? { multiple: true } : {}),
      ...(flag.arg ? {} : { default: false }),
    };
  }
  return specs;
}

/** The flags' --help lines, the help text starting at column `width`, with each flag's default. */
export function optionFlagHelp(workerOnly: boolean, width: number): string[] {
  return flagged(workerOnly).map(([key, flag]) => {
    const name = `  ${flag.short ? `-${flag.short}, ` : '    '}--${flag.name}${flag.arg ? ` ${flag.arg}` : ''}`;
    const dflt = flag.arg ? defaultHelp(key) : undefined;
    const text = `${flag.help}${dflt === undefined ? '' : ` (default: ${dflt})`}`;
    return `${name.padEnd(width)}${text.split('\n').join(`\n${' '.repeat(width)}`)}`;
  });
}

/** The options the flags given set, each through its option's check (a bad value is a usage error naming the flag). */
export function optionsFromFlags(values: Record<string, unknown>): Partial<CeleriacConfig> {
  const set: Record<string, unknown> = {};
  for (const [key, flag] of [...flagged(false), ...flagged(true)]) {
    const given = values[flag.name];
    if (given === undefined || given === false || (Array.isArray(given) && given.length === 0)) continue;
    try {
      const value = typeof given === 'string' && flag.parse ? flag.parse(given) : given;
      checkOption(key, value, flagSite(flag.name, given));
      set[key] = value;
    } catch (err) {
      if (err instanceof CeleriacError && err.code === 'INVALID_CONFIG') throw new UsageError(err.message);
      throw err;
    }
  }
  return set as Partial<CeleriacConfig>;
}
