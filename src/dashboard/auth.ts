// Who may use the dashboard: the host's own check (`authorize`), or the token — given as
// `?token=` once (then a HttpOnly SameSite=Strict cookie), as `Authorization: Bearer`, or
// through the login form. State-changing requests must also come from the dashboard's own
// origin.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const COOKIE = 'celeriac_dashboard';
export const MIN_TOKEN_LENGTH = 16;

export function randomToken(): string {
  return randomBytes(24).toString('base64url');
}

export class TokenAuth {
  /** What the cookie holds: derived from the token, so a new token logs every browser out. */
  readonly session: string;

  constructor(readonly token: string) {
    this.session = createHmac('sha256', token).update('celeriac dashboard session').digest('base64url');
  }

  matches(candidate: string | undefined): boolean {
    return candidate !== undefined && same(candidate, this.token);
  }

  /** The request carries the session cookie or the bearer token. */
  check(req: IncomingMessage): 'cookie' | 'bearer' | undefined {
    const auth = req.headers.authorization;
    if (auth?.startsWith('Bearer ') && this.matches(auth.slice(7).trim())) return 'bearer';
    const cookie = cookies(req.headers.cookie).get(COOKIE);
    if (cookie !== undefined && same(cookie, this.session)) return 'cookie';
    return undefined;
  }

  cookieHeader(path: string): string {
    return `${COOKIE}=${this.session}; HttpOnly; SameSite=Strict; Path=${path}`;
  }
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function cookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) out.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  return out;
}

/**
 * A state-changing request comes from the dashboard's own page: its Origin is the origin
 * the request was sent to (or one allowed). A request without Origin passes only when it
 * carries the bearer token (a script, not a browser riding on a cookie).
 */
export function originAllowed(req: IncomingMessage, how: 'cookie' | 'bearer' | 'authorize', allowed: readonly string[]): boolean {
  const origin = req.headers.origin;
  if (req.headers['sec-fetch-site'] === 'cross-site') return false;
  if (origin === undefined) return how === 'bearer';
  const proto = (req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http';
  const own = req.headers.host ? `${proto}://${req.headers.host}` : undefined;
  return origin === own || allowed.includes(origin);
}
