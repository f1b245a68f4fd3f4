// `celeriac dashboard`: serve the dashboard for a data dir. The page reads a DashboardSource:
// with no worker on the dir, this command opens the dir itself (it then owns it: a worker
// started meanwhile waits for the lock); with a worker running, it is a client of that
// worker's socket.
import { createCeleriac } from '../../app.js';
import { createClient } from '../../client.js';
import { appSource } from '../../dashboard/app-source.js';
import { clientSource } from '../../dashboard/client-source.js';
import { MIN_TOKEN_LENGTH } from '../../dashboard/auth.js';
import { isLoopback, serveDashboard } from '../../dashboard/serve.js';
import type { DashboardSource } from '../../dashboard/types.js';
import { lockHolder } from '../../store/lock.js';
import { EXIT, UsageError, type Settings } from '../context.js';

export interface DashboardFlags {
  host?: string;
  port?: string;
  token?: string;
  'read-only'?: boolean;
}

export const TOKEN_ENV = 'CELERIAC_DASHBOARD_TOKEN';

/** A worker already runs on the dir: read it through its client socket, with the task list from the same task paths. */
async function runningWorkerSource(s: Settings): Promise<{ source: DashboardSource; close: () => Promise<void> }> {
  const { tasks, plugins } = s.config;
  const client = await createClient({
    dir: s.dir,
    cwd: s.cwd,
    ...(tasks !== undefined ? { tasks } : {}),
    ...(plugins !== undefined ? { plugins } : {}),
  });
  return { source: clientSource(client), close: async () => client.close() };
}

export async function dashboardCommand(s: Settings, flags: DashboardFlags): Promise<number> {
  const host = flags.host ?? '127.0.0.1';
  const port = flags.port === undefined ? 5555 : Number(flags.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new UsageError(`--port must be an integer from 0 to 65535, got "${flags.port}"`);
  const token = flags.token ?? (process.env[TOKEN_ENV] || undefined);
  if (token !== undefined && (token.length < MIN_TOKEN_LENGTH || /\s/.test(token))) {
    throw new UsageError(
      `${flags.token !== undefined ? '--token' : TOKEN_ENV} must be at least ${MIN_TOKEN_LENGTH} characters without spaces (try: openssl rand -base64 24)`,
    );
  }
  if (!isLoopback(host) && token === undefined) {
    throw new UsageError(
      `--host ${host}: refusing to listen beyond this machine without a token (anyone who reaches it could read every job's args and results); pass --token SECRET or set ${TOKEN_ENV}, or keep --host 127.0.0.1`,
    );
  }
  const holder = await lockHolder(s.dir);
  let close: () => Promise<void> = async () => undefined;
  let source: DashboardSource;
  if (holder !== undefined) {
    const running = await runningWorkerSource(s);
    source = running.source;
    close = running.close;
    console.log(
      `a worker${holder > 0 ? ` (pid ${holder})` : ''} runs on ${s.dir}: reading it through its socket (its worker threads and recovery report are not shown)`,
    );
  } else {
    const { watch: _watch, ...config } = s.config;
    const app = await createCeleriac({ ...config, dir: s.dir, cwd: s.cwd, logger: false });
    source = appSource(app);
    close = () => app.close();
  }
  let served;
  try {
    served = await serveDashboard(source, { host, port, readOnly: flags['read-only'] === true, ...(token !== undefined ? { token } : {}) });
  } catch (err) {
    await close();
    throw err;
  }
  console.log(`celeriac dashboard for ${s.dir} on ${served.url}${flags['read-only'] ? ' (read-only)' : ''}`);
  // The token is shown once, as the link that logs in; a token given by flag or env is not echoed.
  if (token === undefined) console.log(`open (logs in): ${served.loginUrl}`);
  else console.log(`log in with the token you gave (or open ${served.url}?token=…)`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await served.close();
  await close();
  return EXIT.ok;
}
