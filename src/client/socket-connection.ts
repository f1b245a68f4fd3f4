// A client's connection to a worker's client socket: requests matched to replies by id,
// events handed to a listener. A closed connection fails its unanswered requests with
// Disconnected: whether such a request took effect cannot be known, so the client
// resends sends by id (the worker dedupes) and retries reads.
import { createConnection, type Socket } from 'node:net';
import type { CeleriacEvent } from '../events.js';
import { encodeFrame, FrameDecoder } from '../socket/frame.js';
import { fromWireError, MAX_REPLY_BYTES, type Reply, type Request } from '../socket/protocol.js';
import { TickWriter } from '../socket/tick-writer.js';

/** The connection closed before the reply came: the request may or may not have taken effect. */
export class Disconnected extends Error {
  override name = 'Disconnected';
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
export type RequestBody = DistributiveOmit<Request, 'id'>;

interface Pending {
  resolve(value: unknown): void;
  reject(err: Error): void;
}

export class SocketConnection {
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private readonly writer: TickWriter;
  private readonly decoder = new FrameDecoder(MAX_REPLY_BYTES);
  closed = false;

  private constructor(
    private readonly socket: Socket,
    private readonly onEvent: (event: CeleriacEvent) => void,
    private readonly onClose: () => void,
  ) {
    socket.unref(); // only requests in flight keep the process alive (see request())
    this.writer = new TickWriter(socket);
    socket.on('data', (chunk: Buffer) => this.received(chunk));
    socket.on('error', () => undefined); // 'close' follows
    socket.once('close', () => this.closedNow());
  }

  /** Connect to the socket at `path`; undefined when nobody listens there (no worker runs). */
  static connect(path: string, onEvent: (event: CeleriacEvent) => void, onClose: () => void): Promise<SocketConnection | undefined> {
    return new Promise((resolve) => {
      const socket = createConnection(path);
      const failed = () => {
        socket.destroy();
        resolve(undefined);
      };
      socket.once('error', failed);
      socket.once('connect', () => {
        socket.off('error', failed);
        resolve(new SocketConnection(socket, onEvent, onClose));
      });
    });
  }

  request(body: RequestBody): Promise<unknown> {
    if (this.closed) return Promise.reject(new Disconnected('not connected to the worker'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      if (this.pending.size === 1) this.socket.ref();
      this.writer.write(encodeFrame({ ...body, id }));
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private received(chunk: Buffer): void {
    let messages: unknown[];
    try {
      messages = this.decoder.push(chunk);
    } catch {
      this.socket.destroy(); // not a celeriac worker, or a broken one: treated as gone
      return;
    }
    for (const m of messages as Reply[]) {
      if ('event' in m) {
        this.onEvent(m.event);
        continue;
      }
      const p = this.pending.get(m.re);
      if (!p) continue;
      this.pending.delete(m.re);
      if (this.pending.size === 0) this.socket.unref();
      if ('error' in m) p.reject(fromWireError(m.error));
      else p.resolve(m.value);
    }
  }

  private closedNow(): void {
    if (this.closed) return;
    this.closed = true;
    const lost = [...this.pending.values()];
    this.pending.clear();
    for (const p of lost) p.reject(new Disconnected('the connection to the worker closed before it answered'));
    this.onClose();
  }
}
