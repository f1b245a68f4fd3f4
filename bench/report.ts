// Turns the children's measurements into the summary (median, min, max over the
// repetitions; ratio celeriac/peer) and the human table.
import { METRICS, SYSTEMS, WORKLOADS, WORKLOAD_TITLES, type SystemName, type Workload } from './params.js';

export interface Measurement {
  /** The Node.js version the child ran on (`process.version`). */
  node: string;
  system: SystemName;
  workload: Workload;
  metric: string;
  value: number;
  rep: number;
  extra?: Record<string, unknown>;
}

export interface NotApplicable {
  system: SystemName;
  workload: Workload;
  /** Missing: the whole workload. */
  metric?: string;
  reason: string;
}

export interface Failure {
  node: string;
  system: SystemName;
  workload: Workload;
  rep: number;
  reason: string;
}

export interface SummaryRow {
  workload: Workload;
  metric: string;
  label: string;
  unit: string;
  better: 'higher' | 'lower';
  system: SystemName;
  systemLabel: string;
  status: 'ok' | 'partial' | 'n/a' | 'failed' | 'unavailable';
  /** Repetitions that produced this figure. */
  n: number;
  values: number[];
  median?: number;
  min?: number;
  max?: number;
  /** celeriac's median / this system's median (same metric). */
  ratio?: number;
  note?: string;
}

/** Median by nearest rank (the middle value for an odd count, the lower middle for an even one). */
export function medianOf(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.ceil(s.length / 2) - 1]!;
}

export function summarize(input: {
  systems: SystemName[];
  workloads: Workload[];
  reps: number;
  measurements: Measurement[];
  na: NotApplicable[];
  failures: Failure[];
  unavailable: Partial<Record<SystemName, string>>;
}): SummaryRow[] {
  const rows: SummaryRow[] = [];
  for (const workload of WORKLOADS) {
    if (!input.workloads.includes(workload)) continue;
    const systems = SYSTEMS.filter((s) => input.systems.includes(s.name) && s.workloads[workload] !== undefined);
    if (systems.length === 0) continue;
    for (const [metric, spec] of Object.entries(METRICS[workload])) {
      const block: SummaryRow[] = [];
      for (const sys of systems) {
        const base = {
          workload,
          metric,
          label: spec.label,
          unit: spec.unit,
          better: spec.better,
          system: sys.name,
          systemLabel: sys.label,
          n: 0,
          values: [] as number[],
        };
        const applies = sys.workloads[workload];
        const unavailable = input.unavailable[sys.name];
        const na = input.na.find(
          (x) => x.system === sys.name && x.workload === workload && (x.metric === undefined || x.metric === metric),
        );
        if (applies !== true) {
          block.push({ ...base, status: 'n/a', note: applies });
          continue;
        }
        if (unavailable) {
          block.push({ ...base, status: 'unavailable', note: unavailable });
          continue;
        }
        if (na) {
          block.push({ ...base, status: 'n/a', note: na.reason });
          continue;
        }
        const values = input.measurements
          .filter((m) => m.system === sys.name && m.workload === workload && m.metric === metric)
          .map((m) => m.value);
        const failed = input.failures.filter((f) => f.system === sys.name && f.workload === workload);
        if (values.length === 0) {
          const reason = failed[0]?.reason ?? 'no measurement';
          block.push({ ...base, status: 'failed', note: reason });
          continue;
        }
        const row: SummaryRow = {
          ...base,
          status: values.length < input.reps ? 'partial' : 'ok',
          n: values.length,
          values,
          median: medianOf(values),
          min: Math.min(...values),
          max: Math.max(...values),
        };
        if (row.status === 'partial')
          row.note = `${values.length}/${input.reps} repetitions${failed[0] ? `; failed: ${failed[0].reason}` : ''}`;
        block.push(row);
      }
      const ours = block.find((r) => r.system === 'celeriac' && r.median !== undefined);
      for (const r of block) {
        if (ours && r.system !== 'celeriac' && r.median !== undefined && r.median !== 0) r.ratio = ours.median! / r.median;
      }
      rows.push(...block);
    }
  }
  return rows;
}

export function fmt(v: number): string {
  const a = Math.abs(v);
  if (a >= 100) return Math.round(v).toLocaleString('en-US');
  if (a >= 10) return v.toFixed(1);
  if (a >= 1) return v.toFixed(2);
  return v.toPrecision(2);
}

function figure(r: SummaryRow): string {
  if (r.median === undefined) {
    const note = (r.note ?? '').split('\n')[0]!;
    const text = r.status === 'n/a' ? note : `${r.status.toUpperCase()}: ${note}`;
    return text.length > 90 ? `${text.slice(0, 87)}...` : text;
  }
  const range = r.n > 1 ? ` (${fmt(r.min!)}–${fmt(r.max!)})` : '';
  return `${fmt(r.median)}${range}${r.status === 'partial' ? ` [${r.n} reps]` : ''}`;
}

/** The human table: one block per workload, one line per (metric, system). */
export function formatTable(rows: SummaryRow[], reps: number): string {
  const out: string[] = [];
  const header = ['metric', 'system', `median (min–max), ${reps} rep${reps === 1 ? '' : 's'}`, 'celeriac/peer'];
  for (const workload of WORKLOADS) {
    const block = rows.filter((r) => r.workload === workload);
    if (block.length === 0) continue;
    const lines: string[][] = [];
    let last = '';
    for (const r of block) {
      const unit = r.unit ? `${r.unit}, ` : '';
      const metricCell = r.metric === last ? '' : `${r.label} (${unit}${r.better === 'higher' ? 'higher' : 'lower'} is better)`;
      last = r.metric;
      lines.push([metricCell, r.systemLabel, figure(r), r.ratio === undefined ? '' : r.ratio.toFixed(r.ratio >= 10 ? 1 : 2)]);
    }
    const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
    const row = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
    out.push(
      `### ${WORKLOAD_TITLES[workload]}`,
      '',
      row(header),
      `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
      ...lines.map(row),
      '',
    );
  }
  return out.join('\n');
}
