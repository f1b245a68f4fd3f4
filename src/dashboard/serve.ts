// A standalone HTTP server for the dashboard (what `celeriac dashboard` runs): binds
// loopback by default and refuses any other address unless a token was chosen.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CeleriacError } from '../errors.js';
import { createDashboard } from './handler.js';
import type { DashboardHandler, DashboardSource } from './types.js';

export interface ServeOptions {
  /** Default 127.0.0.1. Another address needs `token`. */
  host?: string;
  /** Default 5555; 0 picks a free port. */
  port?: number;
  /** Default: a random token (printed once by the CLI). */
  token?: string;
  readOnly?: boolean;
}

export interface ServedDashboard {
  server: Server;
  handler: DashboardHandler;
  /** http://host:port/ */
  url: string;
  /** The URL that logs a browser in (carries the token: show it only to the operator). */
  loginUrl: string;
  close(): Promise<void>;
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

export async function serveDashboard(source: DashboardSource, options: ServeOptions = {}): Promise<ServedDashboard> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 5555;
  if (!isLoopback(host) && options.token === undefined) {
    throw new CeleriacError(
      'INVALID_CONFIG',
      `dashboard: refusing to listen on ${host} without a token: anyone who can reach that address could read every job's args and results. Pass --token (or set CELERIAC_DASHBOARD_TOKEN) with a long random secret, or keep --host 127.0.0.1`,
    );
  }
  const handler = createDashboard(source, {
    ...(options.token !== undefined ? { token: options.token } : {}),
    readOnly: options.readOnly === true,
  });
  const server = createServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      handler.close();
      reject(
        err.code === 'EADDRINUSE'
          ? new CeleriacError('INVALID_CONFIG', `dashboard: port ${port} on ${host} is in use: pick another with --port`)
          : err,
      );
    });
    server.listen(port, host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const shown = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const url = `http://${shown}:${addr.port}/`;
  return {
    server,
    handler,
    url,
    loginUrl: `http://${shown}:${addr.port}${handler.loginPath}`,
    close: () =>
      new Promise<void>((resolve) => {
        handler.close();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
