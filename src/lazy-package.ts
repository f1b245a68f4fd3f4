// A dependency loaded at its first use, synchronously (require): task modules import
// celeriac's entry in every worker thread, and most never parse a duration string, declare a
// cron schedule or mistype a name, so those packages stay off the path to the first job.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** A getter of the package `name` (its CommonJS build), required on the first call. */
export function lazyPackage<T>(name: string): () => T {
  let loaded: T | undefined;
  return () => {
    loaded ??= require(name) as T;
    return loaded;
  };
}
