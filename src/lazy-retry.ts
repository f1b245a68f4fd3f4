// p-retry, imported at its first call: a retry follows a failed write or a busy rename,
// which the path to the first result never has, so the package (and is-network-error)
// stays off the host's start-up.
import type pRetryOf from 'p-retry';

/** p-retry's default export, loaded on the first call (which then waits for that import). */
export const pRetry = (async (input, options) => (await import('p-retry')).default(input, options)) as typeof pRetryOf;
