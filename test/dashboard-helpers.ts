// Plumbing for the dashboard tests: an app with the dashboard mounted on a real node:http
// server on a free loopback port, closed when the test ends.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';
import type { Celeriac } from '../src/index.js';
import type { DashboardHandler, DashboardOptions } from '../src/dashboard/types.js';
import { fixture, openApp } from './helpers.js';

export interface Mounted {
  app: Celeriac;
  handler: DashboardHandler;
  /** http://127.0.0.1:port */
  origin: string;
  /** origin + basePath + '/' */
  base: string;
}

export async function mountDashboard(t: TestContext, options: DashboardOptions = {}, app?: Celeriac): Promise<Mounted> {
  app ??= await openApp(t, { tasks: [fixture('dashboard')], concurrency: 2, start: true });
  const handler = app.dashboard(options);
  const origin = await serveDashboard(t, handler);
  return { app, handler, origin, base: `${origin}${options.basePath ?? ''}/` };
}

/** `handler` on a node:http server on a free loopback port (a request it passes on gets 418); its origin. Both closed when the test ends. */
export async function serveDashboard(t: TestContext, handler: DashboardHandler): Promise<string> {
  const server = createServer((req, res) =>
    handler(req, res, () => {
      res.writeHead(418);
      res.end('not the dashboard');
    }),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(
    () =>
      new Promise<void>((resolve) => {
        handler.close();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

export const bearer = (m: Mounted) => ({ Authorization: `Bearer ${m.handler.token}` });

/** The Set-Cookie a login with the token gives. */
export async function loginCookie(m: Mounted): Promise<string> {
  const res = await fetch(`${m.base}?token=${encodeURIComponent(m.handler.token!)}`, { redirect: 'manual' });
  const cookie = res.headers.get('set-cookie');
  if (res.status !== 303 || !cookie) throw new Error(`login failed: ${res.status}`);
  return cookie.split(';')[0]!;
}

/** Read an SSE stream until `until` says stop (bounded); frames as { id, event, data }. */
export async function readEvents(
  url: string,
  headers: Record<string, string>,
  until: (frames: SseFrame[]) => boolean,
  ms = 10_000,
  onFirst?: () => void,
): Promise<SseFrame[]> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), ms);
  const frames: SseFrame[] = [];
  try {
    const res = await fetch(url, { headers, signal: ac.signal });
    if (res.status !== 200) throw new Error(`event stream answered ${res.status}`);
    const decoder = new TextDecoder();
    let buf = '';
    for await (const chunk of res.body!) {
      buf += decoder.decode(chunk as Uint8Array, { stream: true });
      let end;
      while ((end = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, end);
        buf = buf.slice(end + 2);
        const f: SseFrame = { at: Date.now() };
        for (const line of block.split('\n')) {
          const m = /^(id|event|data): ?(.*)$/.exec(line);
          if (m) f[m[1] as 'id' | 'event' | 'data'] = m[2];
        }
        if (f.event) {
          frames.push(f);
          if (frames.length === 1) onFirst?.();
        }
      }
      if (until(frames)) break;
    }
  } catch (err) {
    if (!ac.signal.aborted) throw err;
    throw new Error(`the event stream did not give what was expected within ${ms} ms; got ${JSON.stringify(frames)}`);
  } finally {
    clearTimeout(timer);
    ac.abort();
  }
  return frames;
}

export interface SseFrame {
  at: number;
  id?: string;
  event?: string;
  data?: string;
}
