// The archiver as a workflow: for each URL a chain fetch → checksum → report, all URLs
// in parallel, and a summary once every chain has succeeded:
//
//   chord(group(urls.map((url) => chain(fetch(url), checksum(), report()))), summary())
//
// Each step is its own durable job: a crash between two steps loses neither, and the
// summary is written once. Each step's result is the next step's first argument.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { chain, chord, context, group, signature, task, type Chord } from 'celeriac';

/** What fetch found: where the body is, or why the link is broken. */
export interface Fetched {
  url: string;
  status?: number;
  /** The downloaded body, in `<outDir>/bodies/`. */
  file?: string;
  size?: number;
  contentType?: string;
  broken?: string;
}

export interface Checked extends Fetched {
  sha256?: string;
}

export interface Report extends Checked {
  /** The JSON record written for this URL. */
  record: string;
}

export interface Summary {
  total: number;
  archived: number;
  broken: number;
  bytes: number;
  /** The summary file written. */
  file: string;
}

const keyOf = (url: string) => createHash('sha256').update(url).digest('hex').slice(0, 16);

/** Write a file whole or not at all. */
async function writeAtomically(file: string, data: string | Buffer): Promise<void> {
  const temp = `${file}.${context().id}.tmp`;
  await writeFile(temp, data);
  await rename(temp, file);
}

export const fetchStep = task(
  'archive.fetch',
  { maxRetries: 3, retryDelay: 5, timeout: '2m' },
  async (url: string, outDir: string): Promise<Fetched> => {
    const res = await fetch(url, { signal: context().signal });
    if (res.status >= 500) throw new Error(`${url}: HTTP ${res.status}, try again later`);
    if (!res.ok) {
      await res.body?.cancel();
      return { url, status: res.status, broken: `HTTP ${res.status}` };
    }
    const body = Buffer.from(await res.arrayBuffer());
    const dir = join(outDir, 'bodies');
    await mkdir(dir, { recursive: true });
    const file = join(dir, keyOf(url));
    await writeAtomically(file, body);
    return { url, status: res.status, file, size: body.length, contentType: res.headers.get('content-type') ?? 'unknown' };
  },
);

export const checksumStep = task('archive.checksum', async (fetched: Fetched): Promise<Checked> => {
  if (!fetched.file) return fetched;
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(fetched.file)) hash.update(chunk as Buffer);
  return { ...fetched, sha256: hash.digest('hex') };
});

export const reportStep = task('archive.report', async (checked: Checked, outDir: string): Promise<Report> => {
  const record = join(outDir, `${keyOf(checked.url)}.json`);
  await writeAtomically(record, `${JSON.stringify({ ...checked, checkedAt: new Date().toISOString() }, null, 2)}\n`);
  return { ...checked, record };
});

export const summaryStep = task('archive.summary', async (reports: Report[], outDir: string): Promise<Summary> => {
  const file = join(outDir, 'summary.json');
  const summary: Summary = {
    total: reports.length,
    archived: reports.filter((r) => !r.broken).length,
    broken: reports.filter((r) => r.broken).length,
    bytes: reports.reduce((n, r) => n + (r.size ?? 0), 0),
    file,
  };
  await writeAtomically(file, `${JSON.stringify({ ...summary, reports }, null, 2)}\n`);
  return summary;
});

/** The whole run as one workflow: send it with `app.sendWorkflow(archiveAll(urls, outDir), { id })`. */
export function archiveAll(urls: string[], outDir: string): Chord {
  const perUrl = urls.map((url) => chain(signature(fetchStep, [url, outDir]), signature(checksumStep), signature(reportStep, [outDir])));
  return chord(group(perUrl), signature(summaryStep, [outDir]));
}
