// The peers' servers, started by run.ts on 127.0.0.1 with throwaway data dirs and
// stopped at the end: redis-server (Debian package; installed with apt-get if missing,
// AOF with appendfsync always) and a PostgreSQL 15 cluster (initdb + pg_ctl, run as a
// non-root user because PostgreSQL refuses root).
import { spawn, spawnSync, type ChildProcess, type SpawnSyncOptions } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { join } from 'node:path';

export interface RunningServer {
  name: string;
  version: string;
  host: string;
  port: number;
  /** Shown in the results: how it was started. */
  config: string[];
  stop(): Promise<void>;
  /** Stop it the hard way (redis-server: SIGKILL; PostgreSQL: immediate shutdown), then start it again on the same port and data. */
  crashAndRestart(downMs: number): Promise<void>;
}

const HOST = '127.0.0.1';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, HOST, () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

function which(cmd: string, extra: string[] = []): string | undefined {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  const found = r.status === 0 ? r.stdout.trim() : '';
  if (found) return found;
  return extra.find((p) => existsSync(p));
}

function run(cmd: string, args: string[], opts: SpawnSyncOptions = {}): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 120_000, ...opts });
  if (r.error) throw new Error(`${cmd} ${args.join(' ')}: ${r.error.message}`);
  if (r.status !== 0)
    throw new Error(
      `${cmd} ${args.join(' ')} exited ${r.status}: ${String(r.stderr || r.stdout)
        .trim()
        .slice(-600)}`,
    );
  return String(r.stdout);
}

async function waitFor(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not come up within ${timeoutMs / 1000} s`);
}

/** PING a Redis over RESP; true on +PONG. */
function redisPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host: HOST, port }, () => s.write('PING\r\n'));
    s.setTimeout(1000, () => {
      s.destroy();
      resolve(false);
    });
    s.on('data', (d) => {
      s.destroy();
      resolve(d.toString().startsWith('+PONG'));
    });
    s.on('error', () => resolve(false));
  });
}

/** redis-server's path; installs the Debian package when it is missing and we are root. */
function redisBinary(log: (m: string) => void): string {
  const known = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'];
  let bin = which('redis-server', known);
  if (bin) return bin;
  if (process.getuid?.() !== 0)
    throw new Error('redis-server is not installed (and installing it needs root: apt-get install redis-server)');
  log('redis-server missing: apt-get install -y redis-server');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  try {
    run('apt-get', ['install', '-y', 'redis-server'], { env, timeout: 600_000 });
  } catch {
    run('apt-get', ['update'], { env, timeout: 600_000 });
    run('apt-get', ['install', '-y', 'redis-server'], { env, timeout: 600_000 });
  }
  bin = which('redis-server', known);
  if (!bin) throw new Error('apt-get install redis-server succeeded but no redis-server binary was found');
  return bin;
}

export async function startRedis(root: string, log: (m: string) => void): Promise<RunningServer> {
  const bin = redisBinary(log);
  const version = /v=(\S+)/.exec(run(bin, ['--version']))?.[1] ?? 'unknown';
  const dir = join(root, 'redis');
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const args = [
    '--port',
    String(port),
    '--bind',
    HOST,
    '--dir',
    dir,
    '--appendonly',
    'yes',
    '--appendfsync',
    'always',
    '--save',
    '', // no RDB snapshots: AOF is the durability, and no fork in the middle of a run
    '--daemonize',
    'no',
    '--logfile',
    join(dir, 'redis.log'),
  ];
  let child!: ChildProcess;
  let exited: string | undefined;
  const launch = async () => {
    exited = undefined;
    child = spawn(bin, args, { stdio: 'ignore' });
    child.on('exit', (code, signal) => (exited = `redis-server exited (${code ?? signal})`));
    try {
      await waitFor('redis-server', 15_000, async () => {
        if (exited) throw new Error(`${exited}: ${tail(join(dir, 'redis.log'))}`);
        return redisPing(port);
      });
    } catch (err) {
      child.kill('SIGKILL');
      throw err;
    }
  };
  await launch();
  return {
    name: 'redis',
    version,
    host: HOST,
    port,
    config: [bin, ...args.map((a) => (a === '' ? '""' : a))],
    async stop() {
      if (exited) return;
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await gone;
      clearTimeout(timer);
    },
    async crashAndRestart(downMs) {
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await gone;
      await new Promise((r) => setTimeout(r, downMs));
      await launch();
    },
  };
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-5).join(' | ');
  } catch {
    return '(no log)';
  }
}

/** The user PostgreSQL runs as: ourselves unless root; then `postgres`, or a user we create. */
function postgresUser(log: (m: string) => void): { uid: number; gid: number; name: string } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  for (const name of ['postgres', 'celeriacbench']) {
    const r = spawnSync('id', ['-u', name], { encoding: 'utf8' });
    if (r.status === 0) return { name, uid: Number(r.stdout.trim()), gid: Number(run('id', ['-g', name]).trim()) };
  }
  log('no postgres user: useradd --system celeriacbench');
  run('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', 'celeriacbench']);
  return {
    name: 'celeriacbench',
    uid: Number(run('id', ['-u', 'celeriacbench']).trim()),
    gid: Number(run('id', ['-g', 'celeriacbench']).trim()),
  };
}

function pgBinary(name: string): string {
  const bin = which(name, [`/usr/lib/postgresql/15/bin/${name}`]);
  if (!bin) throw new Error(`${name} not found (PostgreSQL 15 server binaries: apt-get install postgresql-15)`);
  return bin;
}

export async function startPostgres(root: string, log: (m: string) => void): Promise<RunningServer> {
  const initdb = pgBinary('initdb');
  const pgCtl = pgBinary('pg_ctl');
  const version = run(initdb, ['--version']).trim();
  if (!/\b15\./.test(version)) log(`warning: expected PostgreSQL 15, found "${version}"`);
  const user = postgresUser(log);
  const dir = join(root, 'postgres');
  const data = join(dir, 'data');
  mkdirSync(dir, { recursive: true });
  if (user) {
    // A mkdtemp root is 0700: the server's user must be able to pass through it (not list it).
    chmodSync(root, 0o711);
    chownSync(dir, user.uid, user.gid);
  }
  const as: SpawnSyncOptions = { cwd: dir, env: { ...process.env, LC_ALL: 'C' }, ...(user ? { uid: user.uid, gid: user.gid } : {}) };
  // --no-sync only skips initdb's own final sync; the server keeps fsync and synchronous_commit on.
  run(initdb, ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync'], as);
  const port = await freePort();
  const serverOpts = `-c listen_addresses=${HOST} -p ${port} -c unix_socket_directories=${dir}`;
  run(pgCtl, ['-D', data, '-l', join(dir, 'postgres.log'), '-w', '-t', '60', '-o', serverOpts, 'start'], as);
  return {
    name: 'postgres',
    version,
    host: HOST,
    port,
    config: [
      `initdb -D <tmp> -U postgres --auth=trust (as ${user?.name ?? 'self'})`,
      `pg_ctl start -o "${serverOpts}"`,
      'fsync=on, synchronous_commit=on (defaults)',
    ],
    async crashAndRestart(downMs) {
      run(pgCtl, ['-D', data, '-m', 'immediate', '-w', '-t', '60', 'stop'], as);
      await new Promise((r) => setTimeout(r, downMs));
      run(pgCtl, ['-D', data, '-l', join(dir, 'postgres.log'), '-w', '-t', '60', '-o', serverOpts, 'start'], as);
    },
    async stop() {
      if (!existsSync(join(data, 'postmaster.pid'))) return;
      try {
        run(pgCtl, ['-D', data, '-m', 'fast', '-w', '-t', '60', 'stop'], as);
      } catch (err) {
        log(`pg_ctl stop failed: ${(err as Error).message}`);
      }
    },
  };
}

/** Remove a throwaway directory (never throws). */
export function wipe(dir: string): void {
  try {
    rmSync(dir, { recursive: true, force: true });
  } catch {
    // best effort
  }
}
