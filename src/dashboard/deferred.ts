// app.dashboard() without importing the dashboard (handler, API, stats, live stream,
// assets) with the app, whose start-up most apps pay without ever serving it: it loads
// when a dashboard is made. The call stays synchronous: the options are checked and the
// token made at once, and the events from the call on are kept until the dashboard has
// loaded, then handed to its stats and live stream; a request that comes first waits.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { EVENT_TYPES, type CeleriacEvent, type CeleriacEventListener, type CeleriacEventType } from '../events.js';
import { randomToken } from './auth.js';
import { checkDashboardOptions, normalizeBase } from './options.js';
import type { DashboardHandler, DashboardOptions, DashboardSource } from './types.js';

/** The dashboard's modules; a test may hand in a slower import to see events come first. */
type LoadHandler = () => Promise<Pick<typeof import('./handler.js'), 'createDashboard'>>;

export function deferredDashboard(
  source: DashboardSource,
  options: DashboardOptions = {},
  load: LoadHandler = () => import('./handler.js'),
): DashboardHandler {
  checkDashboardOptions(options);
  const base = normalizeBase(options.basePath);
  const token = options.authorize ? undefined : (options.token ?? randomToken());
  const early: CeleriacEvent[] = [];
  const keep = (e: CeleriacEvent) => void early.push(e);
  for (const type of EVENT_TYPES) source.on(type, keep);
  const stopKeeping = () => {
    for (const type of EVENT_TYPES) source.off(type, keep);
    early.length = 0;
  };
  let closed = false;
  let real: DashboardHandler | undefined;
  const loading = load()
    .then(({ createDashboard }) => {
      const listeners = new Map<CeleriacEventType, CeleriacEventListener[]>();
      const watched: DashboardSource = {
        ...source,
        on: (type, listener) => {
          listeners.set(type, [...(listeners.get(type) ?? []), listener]);
          source.on(type, listener);
        },
      };
      real = createDashboard(watched, token === undefined ? options : { ...options, token });
      // In the same turn as the dashboard began listening: no event falls between the two.
      const kept = [...early];
      stopKeeping();
      for (const e of kept) for (const listener of listeners.get(e.type) ?? []) listener(e);
      if (closed) real.close();
      return real;
    })
    .catch((err: unknown) => {
      // The import or createDashboard() failed (a broken install): keep no more events.
      stopKeeping();
      throw err;
    });
  loading.catch(() => undefined); // each request that waited hears of it

  const handler = ((req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void) => {
    if (real) return real(req, res, next);
    loading.then(
      (loaded) => loaded(req, res, next),
      (err: unknown) => {
        if (next) return next(err);
        res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' });
        res.end(`the dashboard could not be loaded: ${(err as Error)?.message ?? String(err)}`);
      },
    );
  }) as DashboardHandler;
  Object.defineProperties(handler, {
    token: { value: token, enumerable: true },
    loginPath: { value: token === undefined ? undefined : `${base}/?token=${encodeURIComponent(token)}`, enumerable: true },
    close: {
      value: () => {
        closed = true;
        if (real) real.close();
        else stopKeeping();
      },
    },
  });
  return handler;
}
