// The dashboard's options checked, where app.dashboard() is called (dashboard/deferred.ts)
// and where a handler is made (handler.ts).
import { CeleriacError } from '../errors.js';
import { MIN_TOKEN_LENGTH } from './auth.js';
import type { DashboardOptions } from './types.js';

export function normalizeBase(basePath: unknown): string {
  if (basePath === undefined) return '';
  if (typeof basePath !== 'string' || !basePath.startsWith('/') || /[?#\s]/.test(basePath)) {
    throw new CeleriacError(
      'INVALID_CONFIG',
      `dashboard(): basePath must be a URL path starting with "/" (e.g. "/admin/jobs"), got ${JSON.stringify(basePath)}`,
    );
  }
  return basePath.replace(/\/+$/, '');
}

export function checkDashboardOptions(o: DashboardOptions): void {
  if (o.authorize !== undefined && typeof o.authorize !== 'function')
    throw new CeleriacError('INVALID_CONFIG', 'dashboard(): authorize must be a function (req) => boolean | Promise<boolean>');
  if (o.token !== undefined && (typeof o.token !== 'string' || o.token.length < MIN_TOKEN_LENGTH || /\s/.test(o.token))) {
    throw new CeleriacError(
      'INVALID_CONFIG',
      `dashboard(): token must be a string of at least ${MIN_TOKEN_LENGTH} characters without spaces (or leave it out for a random one)`,
    );
  }
  if (o.readOnly !== undefined && typeof o.readOnly !== 'boolean')
    throw new CeleriacError('INVALID_CONFIG', `dashboard(): readOnly must be true or false, got ${JSON.stringify(o.readOnly)}`);
  if (o.allowedOrigins !== undefined && (!Array.isArray(o.allowedOrigins) || o.allowedOrigins.some((x) => typeof x !== 'string'))) {
    throw new CeleriacError(
      'INVALID_CONFIG',
      'dashboard(): allowedOrigins must be a list of origins such as ["https://admin.example.com"]',
    );
  }
}
