// Answers that cost a scan of the whole record (counts, a list page on the file backend)
// are reused across pages and clients for a while: at least `minMs`, and ten times as
// long as the last one took, so that live pages spend at most about a tenth of the host's
// event loop on them however large the record grows. An answer reused although jobs
// changed since says when a fresh one can be had (`retryInMs`), so the page asks again then.
export interface Reused<T> {
  value: T;
  /** Set when jobs changed since this answer was computed: ask again after this long. */
  retryInMs?: number;
}

export class Reuse<T> {
  private readonly kept = new Map<string, { version: number; until: number; value: Promise<T> }>();

  /** `version` changes whenever a job does (the count of job events seen). */
  constructor(
    private readonly version: () => number,
    private readonly minMs: number,
    private readonly maxEntries = 32,
  ) {}

  async get(key: string, compute: () => Promise<T>): Promise<Reused<T>> {
    const now = Date.now();
    const hit = this.kept.get(key);
    if (hit && now < hit.until) {
      const value = await hit.value;
      return hit.version === this.version() ? { value } : { value, retryInMs: Math.max(1, hit.until - Date.now()) };
    }
    const began = performance.now();
    const entry = { version: this.version(), until: Number.POSITIVE_INFINITY, value: compute() };
    if (this.kept.size >= this.maxEntries) this.kept.delete(this.kept.keys().next().value as string);
    this.kept.set(key, entry);
    try {
      const value = await entry.value;
      entry.until = Date.now() + Math.max(this.minMs, 10 * (performance.now() - began));
      return { value };
    } catch (err) {
      this.kept.delete(key);
      throw err;
    }
  }
}
