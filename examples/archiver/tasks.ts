// archiver.update: download a resource, record its size, content type and sha256, and
// mark links that are broken — ckanext-archiver's task, on celeriac.
//
// - 2xx: the body is streamed through sha256 (never held in memory, cut off past
//   `maxBytes`); the result and a JSON record file in `outDir` say size, type and hash.
// - 404, 410, other refusals (401, 403, ...), a host that does not exist, a bad URL or
//   TLS certificate: the link is broken. That is a finding, not a failure: the job
//   succeeds with `{ broken: true, reason }`, and the record says so.
// - 5xx, 408, 429, a timeout, a reset or refused connection: transient. The task throws
//   a TransientError, which its `autoretryFor` turns into a durable retry after the
//   job's retryDelay; when the retries run out, the job fails with the last error.
import { createHash } from 'node:crypto';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { context, task } from 'celeriac';

export interface ArchiveOptions {
  /** Directory for the JSON records, one per resource (`<resourceId>.json`). */
  outDir: string;
  /** Names the record file. Default: the first 16 hex digits of the URL's sha256. */
  resourceId?: string;
  /** Largest body downloaded; a larger resource is recorded as `tooLarge`. Default 50 MiB. */
  maxBytes?: number;
  /** Seconds the whole download may take. Default 60. */
  timeout?: number;
}

/** What the archiver found: the job's result, and the content of the record file. */
export interface Archival {
  resourceId: string;
  url: string;
  /** True when the link is broken; `reason` says why. */
  broken: boolean;
  /** Why the link is broken, or why the resource was not downloaded. */
  reason?: string;
  /** The HTTP status of the (last) response. */
  status?: number;
  /** Where redirects led, when that is not `url`. */
  finalUrl?: string;
  /** Bytes downloaded (or, with `tooLarge`, the Content-Length or the bytes seen before giving up). */
  size?: number;
  /** The Content-Type header. */
  contentType?: string;
  /** Hex sha256 of the body. */
  sha256?: string;
  /** The body is larger than `maxBytes`: not downloaded, not hashed, not broken either. */
  tooLarge?: boolean;
  checkedAt: string;
  jobId: string;
  attempt: number;
  /** The record file written for this resource. */
  record: string;
}

/** A failure worth retrying: the task's `autoretryFor` names this class. */
export class TransientError extends Error {
  override name = 'TransientError';
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

export const DEFAULT_MAX_BYTES = 50 * 1024 * 1024;

export const update = task(
  'archiver.update',
  { maxRetries: 5, retryDelay: 60, timeout: '10m', autoretryFor: [TransientError] },
  async (url: string, options: ArchiveOptions): Promise<Archival> => {
    const { id, attempt, signal } = context();
    if (typeof options?.outDir !== 'string' || options.outDir === '') {
      throw new TypeError('archiver.update(url, options): options.outDir (the directory for the records) is required');
    }
    const resourceId = options.resourceId ?? createHash('sha256').update(url).digest('hex').slice(0, 16);
    const found = await download(url, options.maxBytes ?? DEFAULT_MAX_BYTES, (options.timeout ?? 60) * 1000, signal);
    const archival = { resourceId, url, ...found, checkedAt: new Date().toISOString(), jobId: id, attempt };
    const record = await writeRecord(options.outDir, resourceId, id, archival);
    return { ...archival, record };
  },
);

type Found = Pick<Archival, 'broken' | 'reason' | 'status' | 'finalUrl' | 'size' | 'contentType' | 'sha256' | 'tooLarge'>;

async function download(url: string, maxBytes: number, timeoutMs: number, jobSignal: AbortSignal): Promise<Found> {
  const protocol = URL.canParse(url) ? new URL(url).protocol : undefined;
  if (protocol === undefined) return { broken: true, reason: 'not a valid URL' };
  if (protocol !== 'http:' && protocol !== 'https:') return { broken: true, reason: `unsupported URL scheme "${protocol}"` };

  const timeout = AbortSignal.timeout(timeoutMs);
  try {
    const res = await fetch(url, {
      // The job's signal (cancel, shutdown, the task's timeout) and this download's timeout.
      signal: AbortSignal.any([jobSignal, timeout]),
      headers: { 'user-agent': 'celeriac-example-archiver/0.1' },
    });
    const status = res.status;
    const statusText = `HTTP ${status}${res.statusText ? ` ${res.statusText}` : ''}`;
    if (status >= 500 || status === 408 || status === 429) {
      await res.body?.cancel();
      throw new TransientError(`${url}: ${statusText}`, `HTTP_${status}`);
    }
    if (status < 200 || status >= 300) {
      await res.body?.cancel();
      return { broken: true, reason: statusText, status };
    }
    const found: Found = { broken: false, status };
    if (res.url && res.url !== url) found.finalUrl = res.url;
    const contentType = res.headers.get('content-type');
    if (contentType !== null) found.contentType = contentType;
    const declared = Number(res.headers.get('content-length') ?? Number.NaN);
    if (declared > maxBytes) {
      await res.body?.cancel();
      return { ...found, tooLarge: true, size: declared, reason: `Content-Length ${declared} is over the limit of ${maxBytes} bytes` };
    }
    // Stream the body through the hash; stop reading once it is over the limit.
    const hash = createHash('sha256');
    let size = 0;
    if (res.body) {
      for await (const chunk of res.body) {
        size += chunk.byteLength;
        if (size > maxBytes) return { ...found, tooLarge: true, size, reason: `the body is over the limit of ${maxBytes} bytes` }; // leaving the loop cancels the stream
        hash.update(chunk);
      }
    }
    return { ...found, size, sha256: hash.digest('hex') };
  } catch (err) {
    if (err instanceof TransientError) throw err;
    if (jobSignal.aborted) throw err; // cancelled, timed out as a task, or shutting down
    if (timeout.aborted) throw new TransientError(`${url}: no complete response within ${timeoutMs / 1000} s`, 'ETIMEDOUT');
    const verdict = classifyFetchError(err);
    if (verdict.kind === 'broken') return { broken: true, reason: verdict.reason };
    if (verdict.kind === 'transient') throw new TransientError(`${url}: ${verdict.reason}`, verdict.code);
    throw err; // not a link problem: let the job fail with it
  }
}

export type Verdict = { kind: 'broken'; reason: string } | { kind: 'transient'; reason: string; code: string } | { kind: 'unknown' };

/** Network errors worth another try. */
const TRANSIENT_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

/** Errors that say the link itself is wrong: retrying would not help. */
const BROKEN_CODES: Record<string, string> = {
  ENOTFOUND: 'DNS lookup failed: no such host',
  CERT_HAS_EXPIRED: 'TLS certificate has expired',
  ERR_TLS_CERT_ALTNAME_INVALID: 'TLS certificate does not match the host',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'self-signed TLS certificate',
  SELF_SIGNED_CERT_IN_CHAIN: 'self-signed TLS certificate in the chain',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'TLS certificate cannot be verified',
};

/**
 * What a fetch() error means for a link. fetch() rejects with "fetch failed" (or
 * "terminated" mid-body); the system error with its code is somewhere in the cause chain.
 */
export function classifyFetchError(err: unknown): Verdict {
  for (let e = err, depth = 0; e !== null && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const { code, message, hostname } = e as { code?: unknown; message?: unknown; hostname?: unknown };
    const text = typeof message === 'string' ? message : '';
    if (typeof code === 'string' && code in BROKEN_CODES) {
      return { kind: 'broken', reason: `${BROKEN_CODES[code]!}${typeof hostname === 'string' ? ` "${hostname}"` : ''} (${code})` };
    }
    if (typeof code === 'string' && TRANSIENT_CODES.has(code)) return { kind: 'transient', reason: text || code, code };
    if (/redirect count exceeded/i.test(text)) return { kind: 'broken', reason: 'too many redirects' };
  }
  return { kind: 'unknown' };
}

/** Write `<outDir>/<resourceId>.json` whole or not at all (temp file, then rename). */
async function writeRecord(outDir: string, resourceId: string, jobId: string, archival: Omit<Archival, 'record'>): Promise<string> {
  await mkdir(outDir, { recursive: true });
  const safe = (s: string) => s.replace(/[^A-Za-z0-9._-]/g, '_');
  const file = join(outDir, `${safe(resourceId)}.json`);
  const temp = join(outDir, `.${safe(resourceId)}.${safe(jobId)}.tmp`);
  await writeFile(temp, `${JSON.stringify(archival, null, 2)}\n`);
  await rename(temp, file);
  return file;
}
