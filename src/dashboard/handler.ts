// The dashboard as a node:http request handler: auth, then the page and its assets, the
// JSON API, and the event stream, all under `basePath`.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CeleriacError } from '../errors.js';
import { EVENT_TYPES, type CeleriacEvent } from '../events.js';
import { answer, DashboardApi, failure, type Reply } from './api.js';
import { assets } from './assets.js';
import { originAllowed, randomToken, TokenAuth } from './auth.js';
import { loginPage } from './login-page.js';
import { checkDashboardOptions, normalizeBase } from './options.js';
import { LiveStream } from './live.js';
import { DashboardStats } from './stats.js';
import type { DashboardHandler, DashboardOptions, DashboardSource } from './types.js';

const SECURITY_HEADERS = {
  'Content-Security-Policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
} as const;

const MAX_FORM_BYTES = 4096;

export function createDashboard(source: DashboardSource, options: DashboardOptions = {}): DashboardHandler {
  checkDashboardOptions(options);
  const base = normalizeBase(options.basePath);
  const readOnly = options.readOnly === true;
  const allowed = options.allowedOrigins ?? [];
  const tokenAuth = options.authorize ? undefined : new TokenAuth(options.token ?? randomToken());
  const stats = new DashboardStats();
  const live = new LiveStream();
  const api = new DashboardApi(source, stats, readOnly);
  const files = assets();
  const listener = (e: CeleriacEvent) => {
    stats.record(e);
    live.push(e);
  };
  for (const type of EVENT_TYPES) source.on(type, listener);

  const send = (res: ServerResponse, status: number, type: string, body: string | Buffer, extra: Record<string, string> = {}) => {
    res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': type, 'Cache-Control': 'no-store', ...extra });
    res.end(body);
  };
  const json = (res: ServerResponse, reply: Reply) =>
    send(res, reply.status, 'application/json; charset=utf-8', JSON.stringify(reply.body));

  async function who(req: IncomingMessage): Promise<'cookie' | 'bearer' | 'authorize' | undefined> {
    if (options.authorize) return (await options.authorize(req)) ? 'authorize' : undefined;
    return tokenAuth!.check(req);
  }

  async function handle(req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://dashboard.invalid');
    const path = url.pathname;
    if (path !== base && !path.startsWith(`${base}/`)) {
      if (next) return next();
      return send(res, 404, 'text/plain; charset=utf-8', 'not found');
    }
    const rest = path.slice(base.length) || '/';
    const method = req.method ?? 'GET';
    const changes = method !== 'GET' && method !== 'HEAD';

    // The scripts and styles are the package's own files, the same for everyone (the login page uses the styles).
    if (method === 'GET' && rest.startsWith('/assets/')) {
      const name = rest.slice('/assets/'.length);
      const file = name === 'index.html' ? undefined : files.get(name);
      if (!file) return send(res, 404, 'text/plain; charset=utf-8', 'not found');
      return send(res, 200, file.type, file.body, { 'Cache-Control': 'no-cache' });
    }

    // Logging in: the token once in the URL (then the cookie), or the login form.
    if (tokenAuth && method === 'GET' && url.searchParams.has('token')) {
      if (!tokenAuth.matches(url.searchParams.get('token') ?? undefined))
        return send(res, 401, 'text/html; charset=utf-8', loginPage(base, 'That token is not right.'));
      url.searchParams.delete('token');
      const search = url.searchParams.toString();
      return send(res, 303, 'text/plain; charset=utf-8', 'logged in', {
        'Set-Cookie': tokenAuth.cookieHeader(`${base}/`),
        Location: `${path}${search ? `?${search}` : ''}`,
      });
    }
    if (tokenAuth && method === 'POST' && rest === '/login') {
      if (!originAllowed(req, 'cookie', allowed))
        return json(
          res,
          failure(403, 'FOREIGN_ORIGIN', "login refused: the request did not come from the dashboard's own page (Origin check)"),
        );
      const form = new URLSearchParams(await readBody(req, MAX_FORM_BYTES));
      if (!tokenAuth.matches(form.get('token') ?? undefined))
        return send(res, 401, 'text/html; charset=utf-8', loginPage(base, 'That token is not right.'));
      return send(res, 303, 'text/plain; charset=utf-8', 'logged in', {
        'Set-Cookie': tokenAuth.cookieHeader(`${base}/`),
        Location: `${base}/`,
      });
    }

    const how = await who(req);
    if (!how) {
      if (rest.startsWith('/api/'))
        return json(
          res,
          failure(
            401,
            'UNAUTHORIZED',
            'log in first: open the URL with ?token=… that `celeriac dashboard` printed, or send Authorization: Bearer <token>',
          ),
        );
      return send(res, 401, 'text/html; charset=utf-8', loginPage(base));
    }
    if (changes && !originAllowed(req, how, allowed)) {
      return json(
        res,
        failure(
          403,
          'FOREIGN_ORIGIN',
          `${method} ${rest} refused: its Origin (${req.headers.origin ?? 'none'}) is not this dashboard's; state-changing requests must come from the dashboard's own page`,
        ),
      );
    }

    if (method === 'GET' && (rest === '/' || rest === '/index.html')) {
      const page = files.get('index.html')!;
      return send(res, 200, page.type, page.body);
    }
    if (path === base && method === 'GET')
      return send(res, 308, 'text/plain; charset=utf-8', 'moved', { Location: `${base}/${url.search}` });
    if (method === 'GET' && rest === '/api/events') return live.attach(req, res);

    const m = /^\/api\/(.+)$/.exec(rest);
    if (!m) return send(res, 404, 'text/plain; charset=utf-8', 'not found');
    const parts = m[1]!.split('/').map((p) => decodeURIComponent(p));
    const reply = await answer(async () => {
      if (method === 'GET') {
        if (parts.length === 1 && parts[0] === 'overview') return api.overview();
        if (parts.length === 1 && parts[0] === 'jobs') return api.jobs(url.searchParams);
        if (parts.length === 2 && parts[0] === 'jobs') return api.job(parts[1]!);
        if (parts.length === 1 && parts[0] === 'tasks') return api.tasks();
        if (parts.length === 1 && parts[0] === 'schedules') return api.schedules();
        if (parts.length === 1 && parts[0] === 'workers') return api.workers();
      } else if (method === 'POST') {
        if (parts.length === 3 && parts[0] === 'jobs') return api.action(parts[1]!, parts[2]!);
        if (parts.length === 3 && parts[0] === 'schedules' && parts[2] === 'run') return api.runSchedule(parts[1]!);
      }
      return failure(404, 'NOT_FOUND', `no such API: ${method} ${rest}`);
    });
    return json(res, reply);
  }

  const handler = ((req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void) => {
    handle(req, res, next).catch((err: unknown) => {
      if (next) return next(err);
      if (!res.headersSent) json(res, failure(500, 'INTERNAL', (err as Error)?.message ?? String(err)));
      else res.destroy();
    });
  }) as DashboardHandler;
  Object.defineProperties(handler, {
    token: { value: tokenAuth?.token, enumerable: true },
    loginPath: { value: tokenAuth ? `${base}/?token=${encodeURIComponent(tokenAuth.token)}` : undefined, enumerable: true },
    close: {
      value: () => {
        for (const type of EVENT_TYPES) source.off(type, listener);
        live.close();
      },
    },
  });
  return handler;
}

function readBody(req: IncomingMessage, max: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) {
        reject(new CeleriacError('INVALID_ARGS', `request body larger than ${max} bytes`));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
