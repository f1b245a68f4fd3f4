// Buffers for bulk data that lives a short while and goes all at once (a snapshot's framed
// lines), carved out of regions too large for the C heap: glibc maps any allocation over
// 32 MiB on its own and unmaps it when freed. Buffers of a MiB or so come from the heap
// instead (once one such buffer was freed, glibc raises its threshold for mapping), and
// many of them freed between the parked jobs' long-lived blocks leave holes the process
// keeps for good. A region's pages count only once written. The first MiB or so is taken
// as ordinary buffers: a small snapshot needs no region.

/** Above glibc's highest mapping threshold (32 MiB on 64-bit), with room for many chunks. */
const REGION_BYTES = 64 << 20;
/** Taken as ordinary buffers before the first region. */
const FIRST_BYTES = 1 << 20;

export class MappedRegions {
  private region: Buffer | undefined;
  private used = 0;
  private taken = 0;

  /** `bytes` of uninitialized memory: past the first MiB, in the current region if it has room, else in a new one (or on its own, if larger). */
  take(bytes: number): Buffer {
    const before = this.taken;
    this.taken += bytes;
    if (before < FIRST_BYTES || bytes > REGION_BYTES) return Buffer.allocUnsafe(bytes);
    if (!this.region || this.region.length - this.used < bytes) {
      this.region = Buffer.allocUnsafeSlow(REGION_BYTES);
      this.used = 0;
    }
    const buf = this.region.subarray(this.used, this.used + bytes);
    this.used += bytes;
    return buf;
  }

  /** No more takes: the current region goes once the buffers taken from it do. */
  release(): void {
    this.region = undefined;
  }
}
