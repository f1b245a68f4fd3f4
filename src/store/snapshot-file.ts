// The compacted state, kept through lowdb: `Low<Snapshot>` with an adapter of our own,
// because the stock JSONFile adapter neither fsyncs nor checksums, and one JSON document
// of a million jobs is slow to parse in one piece. On disk: a header line, one
// checksummed line per job, and a trailer with the count — written to a temp file,
// fsync'd, renamed over the old one, and the directory fsync'd (atomic replace).
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { Adapter } from 'lowdb';
import pRetry from 'p-retry';
import { CeleriacError } from '../errors.js';
import type { JobRecord } from '../jobs.js';
import { decodeEvent, decodeLine, encodeJob, FORMAT_VERSION, frameAll } from './codec.js';
import { FastDecoder } from './fast-decode.js';
import { recordText, scanLines } from './scan.js';
import { fsyncDir, isTransientIoError, writeError } from './io.js';

export interface Snapshot {
  version: number;
  /** The first journal segment that is not folded into this snapshot. */
  journalFrom: number;
  createdAt: number;
  jobs: Iterable<JobRecord>;
}

export class SnapshotFile implements Adapter<Snapshot> {
  constructor(readonly path: string) {}

  async read(): Promise<Snapshot | null> {
    let buf: Buffer;
    try {
      buf = await readFile(this.path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    const where = (offset: number) => `${this.path} at byte ${offset}`;
    const scan = scanLines(buf);
    if (scan.corruptAt !== undefined || scan.tornTail) {
      const at = scan.corruptAt ?? scan.tornTail!.offset;
      throw new CeleriacError(
        'CORRUPT_JOURNAL',
        `snapshot ${where(at)} is damaged (checksum mismatch or cut short); it is written atomically, so this is disk damage. ` +
          `Move it aside to salvage the journal, or restore it from a backup.`,
      );
    }
    const count = scan.starts.length;
    const header = count === 0 ? undefined : decodeEvent(recordText(buf, scan, 0));
    if (!header || header.type !== 'header' || header.raw.k !== 'snapshot') {
      throw new CeleriacError('CORRUPT_JOURNAL', `snapshot ${where(0)} has no header line: it is not a celeriac snapshot`);
    }
    const version = header.raw.v;
    if (typeof version !== 'number' || version > FORMAT_VERSION) {
      throw new CeleriacError(
        'UNSUPPORTED_FORMAT',
        `snapshot ${this.path} has format version ${String(version)}, newer than this celeriac understands (${FORMAT_VERSION}): upgrade celeriac`,
      );
    }
    // Between the header and the trailer: one line per job.
    const jobCount = Math.max(0, count - 2);
    const end = count < 2 ? undefined : (JSON.parse(recordText(buf, scan, count - 1)) as { o?: string; n?: number });
    if (!end || end.o !== 'e' || end.n !== jobCount) {
      throw new CeleriacError('CORRUPT_JOURNAL', `snapshot ${this.path} is incomplete: its trailer is missing or counts ${String(end?.n)} jobs, found ${jobCount}`);
    }
    const jobs: JobRecord[] = new Array(jobCount);
    const fast = new FastDecoder();
    for (let i = 0; i < jobCount; i++) {
      const at = scan.starts[i + 1]!;
      let rec;
      try {
        rec = decodeLine(buf, at, scan.ends[i + 1]!, fast);
      } catch (err) {
        throw new CeleriacError('CORRUPT_JOURNAL', `snapshot ${where(at)}: a record with a valid checksum does not decode (${(err as Error).message}); run \`celeriac doctor --repair\` to keep what is intact`);
      }
      if (rec.type !== 'job') throw new CeleriacError('CORRUPT_JOURNAL', `snapshot ${where(at)} holds a ${rec.type} record, not a job`);
      jobs[i] = rec.job;
    }
    return { version, journalFrom: Number(header.raw.j), createdAt: Number(header.raw.t), jobs };
  }

  /** Serializes synchronously before its first await, so the caller fixes the content at the moment of the call. */
  async write(data: Snapshot): Promise<void> {
    const records: string[] = [`{"o":"h","k":"snapshot","v":${data.version},"j":${data.journalFrom},"t":${data.createdAt}}`];
    for (const job of data.jobs) records.push(encodeJob(job));
    records.push(`{"o":"e","n":${records.length - 1}}`);
    const tmp = `${this.path}.tmp`;
    await pRetry(() => this.replace(tmp, records), { retries: 3, minTimeout: 20, shouldRetry: ({ error }) => isTransientIoError(error) });
  }

  private async replace(tmp: string, records: string[]): Promise<void> {
    try {
      const fh = await open(tmp, 'w', 0o600);
      try {
        // Framed and written in slices, between awaits: one string of a million jobs would
        // approach V8's string limit, and framing them all at once would hold the event loop.
        for (let i = 0; i < records.length; i += 10_000) await fh.write(frameAll(records.slice(i, i + 10_000)));
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, this.path);
      await fsyncDir(dirname(this.path));
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw writeError(err, `snapshot ${basename(this.path)}`);
    }
  }
}
