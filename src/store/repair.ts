// Salvaging a damaged data dir (`celeriac doctor --repair`). celeriac refuses to open a
// journal damaged in the middle rather than guess; this is the explicit, reported way
// out: every record whose checksum holds is kept, the damaged files are copied aside
// (never lost), and a fresh snapshot holds what was salvaged. The report says
// exactly which byte ranges were lost, so nothing disappears silently.
import { constants } from 'node:fs';
import { copyFile, mkdir, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Low } from 'lowdb';
import { CeleriacError } from '../errors.js';
import { applyEvent, type JobRecord } from '../jobs.js';
import { BadRecord, decodeEvent, decodeMarks, FORMAT_VERSION } from './codec.js';
import { dataDirProblem } from './dir-trust.js';
import { fsyncDir, readFileNoFollow } from './io.js';
import { SEGMENT, segmentName, SNAPSHOT_FILE } from './load.js';
import { acquireLock } from './lock.js';
import { salvageRecords } from './scan.js';
import { SnapshotFile, type Snapshot } from './snapshot-file.js';

export interface RepairReport {
  /** Files read, with what was kept and lost in each. */
  files: { file: string; keptRecords: number; damaged: { offset: number; bytes: number }[]; undecodable: number }[];
  /** Where damaged files were moved (empty when nothing was damaged). */
  movedAside: string[];
  jobs: number;
  /** True when nothing was damaged: the dir was left as it was. */
  clean: boolean;
}

export async function repairDataDir(dir: string): Promise<RepairReport> {
  const unsafe = await dataDirProblem(dir);
  if (unsafe) throw new CeleriacError('DATA_DIR_UNSAFE', unsafe);
  const lock = await acquireLock(dir);
  try {
    return await repairLocked(dir);
  } finally {
    await lock.release();
  }
}

async function repairLocked(dir: string): Promise<RepairReport> {
  const report: RepairReport = { files: [], movedAside: [], jobs: 0, clean: true };
  const jobs = new Map<string, JobRecord>();
  const marks = new Map<string, string>();
  const damagedFiles: string[] = [];
  const snapshotPath = join(dir, SNAPSHOT_FILE);
  let journalFrom = 1;

  const snapBuf = await readFileNoFollow(snapshotPath).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (snapBuf) {
    const { records, damaged } = salvageRecords(snapBuf);
    let undecodable = 0;
    for (const json of records) {
      if (json.startsWith('{"o":"e",')) continue; // the snapshot's trailer: a count, checked on open
      let rec;
      try {
        rec = decodeEvent(json);
      } catch {
        undecodable++;
        continue;
      }
      if (rec.type === 'header') {
        if (typeof rec.raw.v !== 'number' || rec.raw.v > FORMAT_VERSION) {
          throw new CeleriacError(
            'UNSUPPORTED_FORMAT',
            `${snapshotPath} has format version ${String(rec.raw.v)}: upgrade celeriac instead of repairing`,
          );
        }
        journalFrom = Number(rec.raw.j) || 1;
        try {
          for (const [key, value] of decodeMarks(rec.raw.m) ?? []) marks.set(key, value);
        } catch {
          undecodable++;
        }
      } else if (rec.type === 'job') jobs.set(rec.job.id, rec.job);
    }
    report.files.push({ file: snapshotPath, keptRecords: records.length, damaged, undecodable });
    if (damaged.length || undecodable) damagedFiles.push(snapshotPath);
  }

  const segments = (await readdir(dir))
    .filter((f) => SEGMENT.test(f))
    .map((f) => Number(SEGMENT.exec(f)![1]))
    .sort((a, b) => a - b);
  let last = 0;
  for (const n of segments) {
    last = n;
    const path = join(dir, segmentName(n));
    if (n < journalFrom) continue; // already folded into the snapshot
    const { records, damaged } = salvageRecords(await readFileNoFollow(path), { zeroTail: true });
    let undecodable = 0;
    for (const json of records) {
      try {
        const ev = decodeEvent(json);
        if (ev.type === 'header') {
          if (typeof ev.raw.v !== 'number' || ev.raw.v > FORMAT_VERSION)
            throw new CeleriacError(
              'UNSUPPORTED_FORMAT',
              `${path} has format version ${String(ev.raw.v)}: upgrade celeriac instead of repairing`,
            );
          continue;
        }
        if (ev.type === 'job') throw new BadRecord('a snapshot record inside a journal');
        if (ev.type === 'mark') marks.set(ev.key, ev.value);
        else applyEvent(jobs, ev);
      } catch (err) {
        if (err instanceof CeleriacError) throw err;
        undecodable++;
      }
    }
    report.files.push({ file: path, keptRecords: records.length, damaged, undecodable });
    if (damaged.length || undecodable) damagedFiles.push(path);
  }
  report.jobs = jobs.size;
  if (damagedFiles.length === 0) return report;

  report.clean = false;
  const aside = join(dir, `damaged-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  await mkdir(aside, { mode: 0o700 }); // a fresh name: fails rather than writing into something already there
  // The salvaged state becomes the snapshot; every segment is folded into it.
  const next = Math.max(last, journalFrom - 1) + 1;
  const db = new Low<Snapshot>(new SnapshotFile(snapshotPath), {
    version: FORMAT_VERSION,
    journalFrom: next,
    createdAt: Date.now(),
    jobs: [],
  });
  // Copies first: until the new snapshot lands, the originals stay where they were, so a
  // crash in the middle of a repair leaves the dir as it found it.
  for (const file of damagedFiles) {
    const target = join(aside, file.slice(file.lastIndexOf('/') + 1));
    await copyFile(file, target, constants.COPYFILE_EXCL);
    report.movedAside.push(target);
  }
  await fsyncDir(aside);
  db.data = { version: FORMAT_VERSION, journalFrom: next, createdAt: Date.now(), jobs: jobs.values(), marks };
  await db.write();
  // Every segment is now folded into the snapshot (journalFrom = next): remove them.
  for (const n of segments) await unlink(join(dir, segmentName(n))).catch(() => undefined);
  await fsyncDir(dir);
  return report;
}
