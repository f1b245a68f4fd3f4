// The entry points that need the host's machinery (store, pool, scheduler, inbox, file
// watching), loaded when first called. Task modules import celeriac's public entry in
// every worker thread, where only task(), context() and the errors are used: there,
// importing the package must not load what only the host thread runs.
import type * as App from './app.js';
import type * as Client from './client.js';

/**
 * Open an app on a data dir: see CeleriacOptions. The thread that discovers the tasks
 * starts (begin-open.ts) while the rest of the host's machinery is being imported.
 */
export const createCeleriac = (async (options) => {
  const begun = (await import('./app/begin-open.js')).beginOpen(options);
  begun.catch(() => undefined); // handled by the open once app.js is loaded
  let app: typeof App;
  try {
    app = await import('./app.js');
  } catch (err) {
    // Nothing will open the app: stop the threads already started, or they outlive the failed call.
    await begun.then(
      ({ pool }) => pool.close(),
      () => undefined,
    );
    throw err;
  }
  return app.createCeleriacFrom(options, begun);
}) as typeof App.createCeleriac;

/** A client of another process's data dir: see ClientOptions. */
export const createClient = (async (...args: Parameters<typeof Client.createClient>) =>
  (await import('./client.js')).createClient(...args)) as typeof Client.createClient;
