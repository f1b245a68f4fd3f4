// Reading a `broker` URL: which engine, how to reach it, and how to name it in messages
// without its password.
import { CeleriacError } from '../../errors.js';
import { durationMs } from '../../time.js';

export type BrokerKind = 'redis' | 'postgres';

export interface BrokerUrl {
  kind: BrokerKind;
  /** The URL as given (with its password): only ever handed to the client library. */
  url: string;
  /** The URL with its password replaced by `***`: what messages and `location` show. */
  masked: string;
  host: string;
  port: number;
  /** From the URL's `lockDuration` and `stalledInterval` parameters (seconds or "500ms"), in ms, taken out of `url`. */
  stall: { lockDuration?: number; stalledInterval?: number };
}

/** The shortest lock or stall check BullMQ is given: shorter ones renew and check in a busy loop. */
const MIN_STALL_MS = 100;

/** A stall parameter: seconds ("30") or a duration with its unit ("500ms"), as every duration. */
function stallMs(text: string, what: string): number {
  let ms: number;
  try {
    ms = durationMs(/^\d+(\.\d+)?$/.test(text) ? Number(text) : text, what);
  } catch (err) {
    throw new CeleriacError('INVALID_CONFIG', (err as Error).message);
  }
  if (ms < MIN_STALL_MS)
    throw new CeleriacError('INVALID_CONFIG', `${what} must be at least ${MIN_STALL_MS} ms ("100ms" or 0.1), got ${JSON.stringify(text)}`);
  return ms;
}

/** URL parameters celeriac reads (and removes before the URL reaches the client library). */
const STALL_PARAMS = ['lockDuration', 'stalledInterval'] as const;

const SCHEMES: Record<string, BrokerKind> = { 'redis:': 'redis', 'rediss:': 'redis', 'postgres:': 'postgres', 'postgresql:': 'postgres' };

/** The URL with any password masked; text that is no URL is shown only by its scheme-less length. */
export function maskUrl(text: string): string {
  try {
    const u = new URL(text);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return text.replace(/\/\/([^:/@]*):[^@/]*@/, '//$1:***@');
  }
}

export function parseBrokerUrl(value: unknown, where: string): BrokerUrl {
  if (typeof value !== 'string' || value === '') {
    throw new CeleriacError(
      'INVALID_CONFIG',
      `${where}: "broker" must be a URL such as redis://host:6379 or postgres://user@host:5432/db, got ${JSON.stringify(value) ?? typeof value}`,
    );
  }
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw new CeleriacError(
      'INVALID_CONFIG',
      `${where}: "broker" is not a URL: ${maskUrl(value)} (expected redis://host:6379 or postgres://user@host:5432/db)`,
    );
  }
  const masked = maskUrl(value);
  const kind = SCHEMES[u.protocol];
  if (!kind) {
    throw new CeleriacError(
      'INVALID_CONFIG',
      `${where}: "broker" ${masked} has the scheme "${u.protocol.slice(0, -1)}"; celeriac runs on redis:// (or rediss://) and postgres:// (or postgresql://) brokers. Leave "broker" out to keep jobs in the data dir.`,
    );
  }
  if (!u.hostname) throw new CeleriacError('INVALID_CONFIG', `${where}: "broker" ${masked} names no host`);
  const port = u.port ? Number(u.port) : kind === 'redis' ? 6379 : 5432;
  const stall: BrokerUrl['stall'] = {};
  for (const name of STALL_PARAMS) {
    const text = u.searchParams.get(name);
    if (text === null) continue;
    stall[name] = stallMs(text, `${where}: "broker" ${masked}: ${name}`);
    u.searchParams.delete(name);
  }
  return { kind, url: u.toString(), masked: maskUrl(u.toString()), host: u.hostname, port, stall };
}

/** BullMQ refuses a queue name with ':'; the name also becomes part of Redis keys and SQL rows. */
export function checkQueueName(value: unknown, where: string): string {
  if (typeof value !== 'string' || !/^[A-Za-z0-9_.-]{1,100}$/.test(value)) {
    throw new CeleriacError(
      'INVALID_CONFIG',
      `${where}: "queue" must be 1 to 100 letters, digits, '_', '.' or '-', got ${JSON.stringify(value) ?? typeof value}`,
    );
  }
  return value;
}
