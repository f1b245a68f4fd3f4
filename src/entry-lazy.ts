// The entry points that need the host's machinery (store, pool, scheduler, inbox, file
// watching), loaded when first called. Task modules import celeriac's public entry in
// every worker thread, where only task(), context() and the errors are used: there,
// importing the package must not load what only the host thread runs.
import type * as App from './app.js';
import type * as Client from './client.js';
import type * as Repair from './store/repair.js';

/** Open an app on a data dir: see CeleriacOptions. */
export const createCeleriac = (async (options) => (await import('./app.js')).createCeleriac(options)) as typeof App.createCeleriac;

/** A client of another process's data dir: see ClientOptions. */
export const createClient = (async (...args: Parameters<typeof Client.createClient>) =>
  (await import('./client.js')).createClient(...args)) as typeof Client.createClient;

/** Every job on record in a data dir, read without opening it. */
export const readJobs = (async (...args: Parameters<typeof Client.readJobs>) =>
  (await import('./client.js')).readJobs(...args)) as typeof Client.readJobs;

/** Repair a damaged data dir: see RepairReport. */
export const repairDataDir = (async (...args: Parameters<typeof Repair.repairDataDir>) =>
  (await import('./store/repair.js')).repairDataDir(...args)) as typeof Repair.repairDataDir;
