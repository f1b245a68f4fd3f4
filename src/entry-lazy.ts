// The entry points that need the host's machinery (store, pool, scheduler, inbox, file
// watching), loaded when first called. Task modules import celeriac's public entry in
// every worker thread, where only task(), context() and the errors are used: there,
// importing the package must not load what only the host thread runs.
import type * as App from './app.js';
import type * as Client from './client.js';

/**
 * Open an app on a data dir: see CeleriacOptions. The thread that discovers the tasks
 * starts (begin-open.ts) before the rest of the host's machinery is imported, and loads
 * its modules while the host imports that.
 */
export const createCeleriac = (async (options) => {
  // app.js is imported only once the thread is spawned: the open's first part awaits the
  // file system (the dir's check, the task paths), and Node 24's loader keeps the event
  // loop busy for the whole of app.js's import, which those awaits would then wait for.
  const begun = await (await import('./app/begin-open.js')).beginOpen(options);
  let app: typeof App;
  try {
    app = await import('./app.js');
  } catch (err) {
    // Nothing will open the app: stop the threads already started, or they outlive the failed call.
    await begun.pool.close();
    throw err;
  }
  return app.createCeleriacFrom(options, begun);
}) as typeof App.createCeleriac;

/** A client of another process's data dir: see ClientOptions. */
export const createClient = (async (...args: Parameters<typeof Client.createClient>) =>
  (await import('./client.js')).createClient(...args)) as typeof Client.createClient;
