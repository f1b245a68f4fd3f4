// Frames on the client socket: a 4-byte big-endian length, then that many bytes of
// UTF-8 JSON. The length is read before the body, so an oversized frame is refused
// without buffering it.

/** Bytes of the length prefix. */
export const FRAME_HEADER_BYTES = 4;

/** Why a connection's byte stream cannot be read as frames: the connection is closed. */
export class FrameError extends Error {
  override name = 'FrameError';
}

export function encodeFrame(value: unknown): Buffer {
  const body = Buffer.from(JSON.stringify(value), 'utf8');
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + body.length);
  frame.writeUInt32BE(body.length, 0);
  body.copy(frame, FRAME_HEADER_BYTES);
  return frame;
}

/** Splits a byte stream into decoded frames; throws FrameError on an oversized or malformed one. */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** The body length announced by the header just read; undefined while a header is awaited. */
  private need: number | undefined;

  constructor(private readonly maxFrameBytes: number) {}

  /** Bytes received and not yet decoded. */
  get pendingBytes(): number {
    return this.buffered;
  }

  push(chunk: Buffer): unknown[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const out: unknown[] = [];
    for (;;) {
      if (this.need === undefined) {
        if (this.buffered < FRAME_HEADER_BYTES) break;
        const length = this.take(FRAME_HEADER_BYTES).readUInt32BE(0);
        if (length > this.maxFrameBytes) throw new FrameError(`a frame announced ${length} bytes, over the limit of ${this.maxFrameBytes}`);
        this.need = length;
      }
      if (this.buffered < this.need) break;
      const body = this.take(this.need);
      this.need = undefined;
      try {
        out.push(JSON.parse(body.toString('utf8')));
      } catch (err) {
        throw new FrameError(`a frame of ${body.length} bytes is not JSON (${(err as Error).message})`);
      }
    }
    return out;
  }

  /** The next n buffered bytes (n ≤ buffered), copied only when they span chunks. */
  private take(n: number): Buffer {
    this.buffered -= n;
    const first = this.chunks[0]!;
    if (first.length >= n) {
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let at = 0;
    while (at < n) {
      const c = this.chunks[0]!;
      const part = Math.min(c.length, n - at);
      c.copy(out, at, 0, part);
      at += part;
      if (part === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(part);
    }
    return out;
  }
}
