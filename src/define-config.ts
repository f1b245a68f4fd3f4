// defineConfig() and the config's type, apart from the loader: the package's entry
// exports them, and a task module importing celeriac must not load the options' checks.
import type { CeleriacOptions, CodeOnlyOptionKey } from './app/options.js';

/**
 * The settings of createCeleriac() that make sense in a file (the same names, types and
 * defaults; see CeleriacOptions), with the data dir optional: it defaults to ".celeriac"
 * beside the config file.
 */
export interface CeleriacConfig extends Omit<CeleriacOptions, 'dir' | CodeOnlyOptionKey> {
  dir?: string;
}

/** Identity, for type checking and editor completion in celeriac.config.ts. */
export function defineConfig(config: CeleriacConfig): CeleriacConfig {
  return config;
}
