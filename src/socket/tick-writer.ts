// Writes made in one event-loop tick leave the socket in one write: the socket is corked at
// the first and uncorked on the next tick, so a burst of small frames costs one syscall.
import type { Socket } from 'node:net';

export class TickWriter {
  private corked = false;

  /** `afterFlush` runs right after each uncork (e.g. to decide whether to read more). */
  constructor(
    private readonly socket: Socket,
    private readonly afterFlush?: () => void,
  ) {}

  write(frame: Buffer): void {
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(() => {
        this.corked = false;
        this.socket.uncork();
        this.afterFlush?.();
      });
    }
    this.socket.write(frame);
  }
}
