// webhooks.notify: tell a subscriber that a record changed, by POSTing JSON to its URL.
//
// - 2xx: delivered, the job succeeds.
// - 5xx, 408, 429, a timeout or a network error: transient. The task throws
//   `notify.retry({ exc, countdown })`; the countdown doubles on every retry (or is the
//   subscriber's Retry-After), and the retry holds no worker while it waits.
// - any other status (4xx, a redirect): the subscriber refuses this request; retrying
//   would not change that, so the job fails with the status in its error.
//
// Idempotent by job id: every attempt of one job carries the job id as the
// `Idempotency-Key` header, so the subscriber can drop a delivery it already has (a
// retry after a lost response, or a run repeated after a crash: celeriac is
// at-least-once). And the app sends with a deterministic id per change, so sending the
// same change twice creates one job.
import { context, task } from 'celeriac';

export interface Subscription {
  /** Where to POST the notification (http or https). */
  url: string;
  /** Seconds to wait for the subscriber's response. Default 10. */
  timeout?: number;
  /** Countdown of the first retry, in seconds; it doubles on every retry. Default 30. */
  retryDelay?: number;
  /** Cap of a countdown, and of a Retry-After the subscriber asks for, in seconds. Default 3600. */
  maxDelay?: number;
}

export interface RecordChange {
  recordId: string;
  change: 'created' | 'updated' | 'deleted';
  /** Sent along as is (must be JSON). */
  data?: unknown;
}

/** The body the subscriber receives. The same on every attempt of a job. */
export interface Notification {
  event: `record.${RecordChange['change']}`;
  recordId: string;
  data: unknown;
  jobId: string;
}

/** A job's result: what the subscriber answered, on which attempt. */
export interface Delivery {
  url: string;
  status: number;
  attempt: number;
  idempotencyKey: string;
}

/** What a failed delivery reports: the subscriber's status, or what went wrong on the way. */
export class DeliveryError extends Error {
  override name = 'DeliveryError';
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

const TRANSIENT_STATUS = new Set([408, 429]);

export const notify = task(
  'webhooks.notify',
  { maxRetries: 8 },
  async (subscription: Subscription, change: RecordChange): Promise<Delivery> => {
    const { id, attempt, retries, signal } = context();
    const { url } = subscription;
    const timeoutMs = (subscription.timeout ?? 10) * 1000;
    const maxDelay = subscription.maxDelay ?? 3600;
    const countdown = Math.min(maxDelay, (subscription.retryDelay ?? 30) * 2 ** retries);
    if (!/^https?:$/.test(URL.canParse(url) ? new URL(url).protocol : '')) {
      throw new DeliveryError(`subscription URL ${JSON.stringify(url)} is not an http(s) URL; not retried`);
    }
    const notification: Notification = {
      event: `record.${change.change}`,
      recordId: change.recordId,
      data: change.data ?? null,
      jobId: id,
    };

    const timeout = AbortSignal.timeout(timeoutMs);
    let res: Response;
    try {
      res = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'idempotency-key': id,
          'user-agent': 'celeriac-example-webhooks/0.1',
          'x-delivery-attempt': String(attempt),
        },
        body: JSON.stringify(notification),
        // The job's signal (cancel, shutdown, the task's own timeout) and this request's timeout.
        signal: AbortSignal.any([signal, timeout]),
        // A subscriber that moved should be updated, not followed with a POST turned GET.
        redirect: 'manual',
      });
      // Read the (small) answer, so the connection is reused and the timeout covers it too.
      await res.arrayBuffer();
    } catch (err) {
      if (signal.aborted) throw err; // cancelled, timed out as a task, or shutting down: not a delivery problem
      const why = timeout.aborted ? `no response within ${timeoutMs / 1000} s` : networkReason(err);
      throw notify.retry({ exc: new DeliveryError(`POST ${url}: ${why}`), countdown });
    }

    if (res.status >= 500 || TRANSIENT_STATUS.has(res.status)) {
      const exc = new DeliveryError(`POST ${url}: HTTP ${res.status} ${res.statusText}`, res.status);
      throw notify.retry({ exc, countdown: Math.min(maxDelay, retryAfter(res) ?? countdown) });
    }
    if (res.status < 200 || res.status >= 300) {
      const where =
        res.status >= 300 && res.status < 400
          ? ` (redirected to ${res.headers.get('location') ?? '?'}: update the subscription's URL)`
          : '';
      throw new DeliveryError(
        `POST ${url}: HTTP ${res.status} ${res.statusText}${where}; the subscriber refused the notification, not retried`,
        res.status,
      );
    }
    return { url, status: res.status, attempt, idempotencyKey: id };
  },
);

/** Seconds from a Retry-After header (seconds or an HTTP date), if there is one. */
function retryAfter(res: Response): number | undefined {
  const value = res.headers.get('retry-after');
  if (value === null) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value);
  const at = Date.parse(value);
  return Number.isFinite(at) ? Math.max(0, (at - Date.now()) / 1000) : undefined;
}

/** fetch() says "fetch failed"; the reason is in its cause (ECONNREFUSED, ENOTFOUND, ...). */
function networkReason(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } } | null)?.cause;
  if (cause?.code) return `${cause.code}${cause.message ? ` (${cause.message})` : ''}`;
  return err instanceof Error ? err.message : String(err);
}
