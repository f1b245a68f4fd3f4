// An on-CPU profile of bench/w1-host.mjs's timed phase, split by thread and, on the host
// thread, by stage of a job's way. Unlike --cpu-prof (wall-clock samples: a thread the
// kernel took off its CPU is charged to whatever it was running), perf counts only time on
// a CPU, which a loaded machine does not inflate.
//   mkfifo /tmp/ctl
//   perf record -e cpu-clock -F 4000 -g --delay=-1 --control=fifo:/tmp/ctl -o /tmp/w1.data -- \
//     node --perf-basic-prof bench/w1-host.mjs --perf-ctl=/tmp/ctl
//   perf script -i /tmp/w1.data -F pid,tid,ip,sym > /tmp/w1.txt
//   node bench/perf-stages.mjs /tmp/w1.txt [--n=100000] [--hz=4000]
// A sample goes to the first stage one of its frames matches, from the leaf up. Frames of
// functions V8 inlined are not seen: their time is their caller's (applyEvent's partly
// shows as flushLoop's). On Node 24 a JS frame is sometimes misnamed (code moved by the GC,
// its address reused): trust its thread totals more than its JS rows.
import { readFileSync } from 'node:fs';

const arg = (name, fallback) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const n = Number(arg('n', '100000'));
const usPerSample = 1e6 / Number(arg('hz', '4000'));

const GC =
  /ScavengerCollector|Scavenger::|MarkCompactCollector|Heap::CollectGarbage|Heap::PerformGarbageCollection|IncrementalMarking|MinorMarkCompact|Sweeper/;
/** The host thread's stages, tried in this order on each frame. */
const STAGES = [
  ['GC (its host-thread part)', GC],
  ['compaction (the snapshot write)', /snapshot-file\.js|snapshot-lines\.js|Low\.js/],
  ['journal: apply to the job table', /dist\/jobs\.js/],
  ['journal: encode, frame, checksum', /store\/codec\.js|store\/crc32\.js|zlib/],
  ['journal: flush loop, write submitted', /file-store\.js|fs\/promises|segment-space\.js|store\/io\.js/],
  ['events to listeners', /journal-events\.js/],
  ['post to workers', /route-jobs\.js|packJobs|postMessage/],
  ['outcomes received', /unpackOutcomes|pool\.js|pool-worker\.js|event_target|messageport/],
  ['dispatcher', /dispatcher\.js|in-flight\.js|ready\.js|job-fifo\.js|p-queue|delayed\.js/],
  ['waiters, result()', /waiters\.js|job-view\.js|file-backend\.js:6\d:|result .*file-backend\.js|result .*app\.js|workflows/],
  ['send path', /send\.js|validate\.js|job-id\.js|app\.js|file-backend\.js|crypto/],
  ['the bench itself', /w1-host\.mjs/],
];
/** What a thread other than the host spends its time on, by its stacks. */
const ROLES = [
  ['worker threads', /pool\/thread\/worker\.js|worker\.js:\d/],
  ['GC helper threads', GC],
  ['I/O threads (libuv: journal writes)', /uv__fs_work|uv__work|worker \(|iowrite|copy_folio/],
];

const threads = new Map();
let sample;
for (const line of readFileSync(process.argv[2], 'utf8').split('\n')) {
  if (!line.trim()) continue;
  if (!line.startsWith('\t')) {
    const [pid, tid] = line.trim().split(/\s+/)[0].split('/');
    sample = { host: pid === tid, frames: [] };
    const list = threads.get(tid) ?? [];
    list.push(sample);
    threads.set(tid, list);
  } else sample?.frames.push(line.trim().replace(/^\S+\s+/, ''));
}
const us = (samples) => ((samples * usPerSample) / n).toFixed(2).padStart(7);

const roles = new Map();
let all = 0;
for (const [, samples] of threads) {
  all += samples.length;
  let role = samples[0].host ? 'host thread' : 'other';
  if (!samples[0].host) {
    const votes = new Map();
    for (const s of samples) {
      const r = ROLES.find(([, re]) => s.frames.some((f) => re.test(f)))?.[0];
      if (r) votes.set(r, (votes.get(r) ?? 0) + 1);
    }
    role = [...votes].sort((a, b) => b[1] - a[1])[0]?.[0] ?? 'other';
  }
  const r = roles.get(role) ?? { threads: 0, samples: 0 };
  r.threads++;
  r.samples += samples.length;
  roles.set(role, r);
}
console.log(`CPU µs per job by thread (${n} jobs)`);
for (const [role, r] of [...roles].sort((a, b) => b[1].samples - a[1].samples)) console.log(`${us(r.samples)}  ${role} (${r.threads})`);
console.log(`${us(all)}  all\n\nhost thread by stage`);
const stages = new Map();
const host = [...threads.values()].find((s) => s[0].host) ?? [];
for (const s of host) {
  let stage = 'other (kernel: page faults, scheduling; malloc; the microtask machinery)';
  found: for (const f of s.frames) {
    for (const [name, re] of STAGES) {
      if (re.test(f)) {
        stage = name;
        break found;
      }
    }
  }
  stages.set(stage, (stages.get(stage) ?? 0) + 1);
}
for (const [stage, c] of [...stages].sort((a, b) => b[1] - a[1]))
  console.log(`${us(c)}  ${((100 * c) / host.length).toFixed(0).padStart(3)} %  ${stage}`);
const lookups = host.filter((s) => s.frames[0]?.includes('FindOrderedHashMapEntry')).length;
console.log(`\nof which Map look-ups (FindOrderedHashMapEntry): ${us(lookups).trim()} µs per job`);
