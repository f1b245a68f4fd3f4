// The worker's client socket: <dir>/client.sock, listened on while an app owns the dir,
// so that other processes (createClient, the CLI) send, read, cancel and subscribe with
// the app's own answers, in milliseconds, instead of through inbox files. It is a
// transport into the app's public facade, not a second way in: every request is one
// facade call (handle-request.ts). One connection's bad bytes, or a connection that
// never reads, closes that connection only; how much is buffered for one is bounded.
import { createServer, type Socket } from 'node:net';
import type { CeleriacEventListener, CeleriacEventType } from '../events.js';
import { bindInDir, socketPathFits, type BoundSocket } from './bind.js';
import { encodeFrame, FrameDecoder, FrameError } from './frame.js';
import { handleRequest, requestProblem } from './handle-request.js';
import { TickWriter } from './tick-writer.js';
import { CLIENT_SOCKET_FILE, MAX_REQUEST_BYTES, toWireError, type ClientFacade, type Reply, type Request } from './protocol.js';

export interface ClientSocketLimits {
  /** Largest request frame read; a bigger one closes the connection. Default 64 MiB. */
  maxRequestBytes: number;
  /** Replies waiting to be read by one client above which its requests are no longer read (until it reads). Default 1 MiB. */
  pauseAboveBytes: number;
  /** Replies and events waiting for one client above which it is disconnected: it is not reading. Default 64 MiB. */
  dropAboveBytes: number;
  /** Requests of one connection being answered at once (result waits count) above which its further requests wait. Default 65,536. */
  maxInFlight: number;
}

export const DEFAULT_CLIENT_SOCKET_LIMITS: ClientSocketLimits = {
  maxRequestBytes: MAX_REQUEST_BYTES,
  pauseAboveBytes: 1024 * 1024,
  dropAboveBytes: 64 * 1024 * 1024,
  maxInFlight: 65_536,
};

export interface ClientSocketServer {
  readonly path: string;
  /** Connections open now. */
  readonly connections: number;
  /** Stop listening and close every connection (their unanswered requests stay unanswered: clients resend). */
  close(): Promise<void>;
}

interface Log {
  warn(message: string): void;
}

/** Listen on <dir>/client.sock; undefined (and a warning) when its path is too long for a socket. */
export async function serveClients(
  app: ClientFacade,
  dir: string,
  log: Log,
  limits: ClientSocketLimits = DEFAULT_CLIENT_SOCKET_LIMITS,
): Promise<ClientSocketServer | undefined> {
  if (!socketPathFits(dir, CLIENT_SOCKET_FILE)) {
    log.warn(
      `the data dir's path is too long for a Unix socket (107 bytes): no ${CLIENT_SOCKET_FILE}, so clients hand work in through the inbox (slower); use a shorter path`,
    );
    return undefined;
  }
  const open = new Set<ClientConnection>();
  let next = 0;
  const server = createServer((socket) => {
    socket.unref(); // a client must not keep the app's process alive
    const c = new ClientConnection(socket, ++next, app, log, limits);
    open.add(c);
    socket.once('close', () => open.delete(c));
  });
  server.unref();
  const bound: BoundSocket = await bindInDir(server, dir, CLIENT_SOCKET_FILE);
  return {
    path: bound.path,
    get connections() {
      return open.size;
    },
    close: async () => {
      const closing = bound.close();
      for (const c of open) c.destroy();
      await closing;
    },
  };
}

class ClientConnection {
  private readonly decoder: FrameDecoder;
  private inFlight = 0;
  private paused = false;
  private closed = false;
  private readonly writer: TickWriter;
  private readonly forwarding = new Map<CeleriacEventType, CeleriacEventListener>();
  /** Requests read while held back (a chunk holds many): run once this client reads again. */
  private queued: Request[] = [];
  private runningQueued = false;

  constructor(
    private readonly socket: Socket,
    private readonly n: number,
    private readonly app: ClientFacade,
    private readonly log: Log,
    private readonly limits: ClientSocketLimits,
  ) {
    this.decoder = new FrameDecoder(limits.maxRequestBytes);
    this.writer = new TickWriter(socket, () => this.flow());
    socket.on('data', (chunk: Buffer) => this.received(chunk));
    socket.on('drain', () => this.flow());
    socket.on('error', () => undefined); // a client that went away: 'close' follows
    socket.once('close', () => this.cleanUp());
  }

  destroy(): void {
    this.socket.destroy();
  }

  private received(chunk: Buffer): void {
    if (this.closed) return;
    let messages: unknown[];
    try {
      messages = this.decoder.push(chunk);
    } catch (err) {
      if (!(err instanceof FrameError)) throw err;
      this.drop(err.message);
      return;
    }
    for (const m of messages) {
      const problem = requestProblem(m);
      if (problem) {
        this.drop(`malformed request: ${problem}`);
        return;
      }
      this.queued.push(m as Request);
    }
    this.runQueued();
  }

  private runQueued(): void {
    if (this.runningQueued) return; // run() → flow() lands here again: the loop below goes on
    this.runningQueued = true;
    let i = 0;
    while (i < this.queued.length && !this.paused && !this.closed) this.run(this.queued[i++]!);
    this.queued = i === this.queued.length ? [] : this.queued.slice(i);
    this.runningQueued = false;
  }

  private run(req: Request): void {
    this.inFlight++;
    this.flow();
    const subs = {
      add: (types: CeleriacEventType[]) => this.subscribe(types),
      remove: (types: CeleriacEventType[]) => this.unsubscribe(types),
    };
    handleRequest(this.app, req, subs)
      .then(
        (value) => this.send({ re: req.id, value }),
        (err: unknown) => this.send({ re: req.id, error: toWireError(err) }),
      )
      .finally(() => {
        this.inFlight--;
        this.flow();
      });
  }

  private send(message: Reply): void {
    if (this.closed) return;
    if (this.socket.writableLength > this.limits.dropAboveBytes) {
      this.drop(
        `it does not read what it is sent (${this.socket.writableLength} bytes wait, over the limit of ${this.limits.dropAboveBytes})`,
      );
      return;
    }
    let frame: Buffer;
    try {
      frame = encodeFrame(message);
    } catch (err) {
      if (!('re' in message)) return;
      frame = encodeFrame({ re: message.re, error: toWireError(err) });
    }
    this.writer.write(frame);
  }

  /** Read further requests only while this client reads its replies and has room for more in flight. */
  private flow(): void {
    if (this.closed) return;
    const hold = this.socket.writableLength > this.limits.pauseAboveBytes || this.inFlight >= this.limits.maxInFlight;
    if (hold && !this.paused) this.socket.pause();
    else if (!hold && this.paused) this.socket.resume();
    this.paused = hold;
    if (!hold && this.queued.length > 0) this.runQueued();
  }

  private subscribe(types: CeleriacEventType[]): void {
    for (const type of types) {
      if (this.forwarding.has(type)) continue;
      const forward: CeleriacEventListener = (event) => this.send({ event });
      this.forwarding.set(type, forward);
      this.app.on(type, forward);
    }
  }

  private unsubscribe(types: CeleriacEventType[]): void {
    for (const type of types) {
      const forward = this.forwarding.get(type);
      if (!forward) continue;
      this.app.off(type, forward);
      this.forwarding.delete(type);
    }
  }

  private drop(reason: string): void {
    if (this.closed) return;
    this.log.warn(`client socket: closed client connection #${this.n}: ${reason}`);
    this.socket.destroy();
    this.cleanUp();
  }

  private cleanUp(): void {
    this.closed = true;
    this.unsubscribe([...this.forwarding.keys()]);
  }
}
