// Callers of result() waiting for jobs that may finish on any host. A waiter is in place
// before the job is looked at (QueueEvents tells every finish from then on), so a job that
// finishes between the look and the wait is never missed; a slow re-check covers events
// lost while the broker connection was down.

interface Waiter {
  resolve(value: unknown): void;
  reject(err: Error): void;
  timer?: NodeJS.Timeout;
}

export class ResultWaiters {
  private readonly byId = new Map<string, Set<Waiter>>();

  /** Wait for `id`: `check` runs after the waiter is in place and may settle it at once. */
  wait(
    id: string,
    timeoutMs: number | undefined,
    onTimeout: () => Error,
    check: (settle: { resolve(v: unknown): void; reject(e: Error): void }) => Promise<void>,
    recheckMs: number,
  ): Promise<unknown> {
    return new Promise((resolve, reject) => {
      let recheck: NodeJS.Timeout | undefined;
      const done = () => {
        clearTimeout(w.timer);
        clearInterval(recheck);
        const set = this.byId.get(id);
        set?.delete(w);
        if (set?.size === 0) this.byId.delete(id);
      };
      const w: Waiter = {
        resolve: (v) => {
          done();
          resolve(v);
        },
        reject: (e) => {
          done();
          reject(e);
        },
      };
      let set = this.byId.get(id);
      if (!set) this.byId.set(id, (set = new Set()));
      set.add(w);
      if (timeoutMs !== undefined) w.timer = setTimeout(() => w.reject(onTimeout()), timeoutMs);
      const run = () => check(w).catch((err: unknown) => w.reject(err as Error));
      void run();
      recheck = setInterval(run, recheckMs);
      recheck.unref();
    });
  }

  resolve(id: string, value: unknown): void {
    for (const w of [...(this.byId.get(id) ?? [])]) w.resolve(value);
  }

  reject(id: string, err: Error): void {
    for (const w of [...(this.byId.get(id) ?? [])]) w.reject(err);
  }

  rejectAll(err: Error): void {
    for (const id of [...this.byId.keys()]) this.reject(id, err);
  }
}
