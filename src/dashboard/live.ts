// Live updates over Server-Sent Events. Job events are gathered and sent in batches, at
// most one per BATCH_MS, each with an increasing id; a browser that reconnects sends the
// last id it saw (Last-Event-ID) and gets the batches it missed, or `reset` when they are
// too old to be kept (it then reloads what it shows).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CeleriacEvent } from '../events.js';

export const BATCH_MS = 250;
/** Events carried by one batch; the rest are counted as `dropped` (the page reloads its data anyway). */
const EVENTS_PER_BATCH = 100;
/** Batches kept for clients that reconnect. */
const KEPT_BATCHES = 240;
const HEARTBEAT_MS = 15_000;
/** A client that does not read (its socket buffer above this) is dropped; it reconnects and resumes. */
const MAX_BUFFERED = 1 << 20;

export interface LiveEvent {
  type: CeleriacEvent['type'];
  id: string;
  task: string;
  at: number;
  attempt: number;
}

export interface LiveBatch {
  events: LiveEvent[];
  dropped: number;
}

export class LiveStream {
  private readonly clients = new Set<ServerResponse>();
  private pending: LiveEvent[] = [];
  private dropped = 0;
  private seq = 0;
  private readonly kept: { seq: number; frame: string }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private lastFlush = 0;
  private readonly heartbeat: NodeJS.Timeout;
  private closed = false;

  constructor() {
    this.heartbeat = setInterval(() => this.broadcast(': keep-alive\n\n'), HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  get clientCount(): number {
    return this.clients.size;
  }

  push(e: CeleriacEvent): void {
    if (this.closed) return;
    if (this.pending.length < EVENTS_PER_BATCH)
      this.pending.push({ type: e.type, id: e.id, task: e.task, at: e.at.getTime(), attempt: e.attempt });
    else this.dropped++;
    this.schedule();
  }

  private schedule(): void {
    if (this.timer) return;
    const wait = Math.max(0, this.lastFlush + BATCH_MS - Date.now());
    this.timer = setTimeout(() => this.flush(), wait);
    this.timer.unref();
  }

  private flush(): void {
    const batch: LiveBatch = { events: this.pending, dropped: this.dropped };
    this.pending = [];
    this.dropped = 0;
    this.lastFlush = Date.now();
    const seq = ++this.seq;
    const frame = `id: ${seq}\nevent: batch\ndata: ${JSON.stringify(batch)}\n\n`;
    this.kept.push({ seq, frame });
    if (this.kept.length > KEPT_BATCHES) this.kept.shift();
    this.broadcast(frame);
    this.timer = undefined;
    if (this.pending.length > 0 || this.dropped > 0) this.schedule();
  }

  private broadcast(frame: string): void {
    for (const res of this.clients) this.write(res, frame);
  }

  private write(res: ServerResponse, frame: string): void {
    if (res.writableLength > MAX_BUFFERED) {
      res.destroy();
      return;
    }
    res.write(frame);
  }

  /** Answer GET …/api/events: resume after Last-Event-ID, then stream. */
  attach(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      'X-Accel-Buffering': 'no',
      Connection: 'keep-alive',
    });
    res.write('retry: 1000\n\n');
    const last = Number(req.headers['last-event-id']);
    if (Number.isInteger(last) && last >= 0 && req.headers['last-event-id'] !== undefined) {
      const oldest = this.kept[0]?.seq ?? this.seq + 1;
      if (last === this.seq) {
        // Missed nothing.
      } else if (last < this.seq && last + 1 >= oldest) {
        for (const k of this.kept) if (k.seq > last) res.write(k.frame);
      } else {
        // Too old to replay, or from before this process started: the page reloads its data.
        res.write(`id: ${this.seq}\nevent: reset\ndata: {}\n\n`);
      }
    } else {
      res.write(`id: ${this.seq}\nevent: hello\ndata: {}\n\n`);
    }
    this.clients.add(res);
    const drop = () => this.clients.delete(res);
    req.on('close', drop);
    res.on('close', drop);
  }

  close(): void {
    this.closed = true;
    clearInterval(this.heartbeat);
    clearTimeout(this.timer);
    for (const res of this.clients) res.end();
    this.clients.clear();
  }
}
