/** What every probe hands back: its method, a table of measured counts, and the invariants it checked. */

export interface Invariant {
  name: string;
  ok: boolean;
  /** The measured value(s) behind the verdict. */
  detail: string;
}

export interface ProbeReport {
  probe: string;
  /** How the probe works, one line each (printed before the table). */
  method: string[];
  /** Label → measured value, in print order. */
  rows: [string, number | string][];
  invariants: Invariant[];
  /** Wall-clock seconds the probe ran (setup, load and drain). */
  seconds: number;
  /** The headline counts, one row of probe:all's summary table. */
  totals: Totals;
}

export interface Totals {
  /** Requests (or connections) the probe sent. */
  requests: number;
  /** Times `wisp up` died without being asked to. */
  crashes: number;
  /** 5xx answers, not counting 503 with Retry-After. */
  fiveXX: number;
  /** 503 with Retry-After (backpressure, connection limits). */
  busy: number;
  /** Accepted events never delivered (nor dead-lettered); undefined where the probe sends no events to follow. */
  lost?: number;
  duplicates?: number;
  /** One more thing worth a column, in words. */
  note?: string;
}

/** probe:all's summary: one markdown table row per probe. */
export function summaryTable(reports: ProbeReport[]): string {
  const head = '| probe | requests | crashes | 5xx | 503 + Retry-After | lost | duplicates | invariants | note |';
  const rule = '| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |';
  const rows = reports.map((r) => {
    const t = r.totals;
    const bad = failed(r).length;
    return `| ${r.probe} | ${t.requests} | ${t.crashes} | ${t.fiveXX} | ${t.busy} | ${t.lost ?? '-'} | ${t.duplicates ?? '-'} | ${bad === 0 ? `${r.invariants.length} held` : `${bad} of ${r.invariants.length} FAILED`} | ${t.note ?? ''} |`;
  });
  return [head, rule, ...rows].join('\n');
}

export function invariant(name: string, ok: boolean, detail: string): Invariant {
  return { name, ok, detail };
}

export function failed(report: ProbeReport): Invariant[] {
  return report.invariants.filter((i) => !i.ok);
}

/** The report as text: method, a two-column table, then PASS/FAIL per invariant. */
export function formatReport(r: ProbeReport): string {
  const out: string[] = [];
  out.push(`== probe:${r.probe} (${r.seconds.toFixed(1)} s) ==`);
  for (const m of r.method) out.push(`  ${m}`);
  const w = Math.max(...r.rows.map(([k]) => k.length), 10);
  out.push('');
  out.push(`  | ${'measure'.padEnd(w)} | value`);
  out.push(`  | ${'-'.repeat(w)} | -----`);
  for (const [k, v] of r.rows) out.push(`  | ${k.padEnd(w)} | ${typeof v === 'number' ? String(v) : v}`);
  out.push('');
  for (const i of r.invariants) out.push(`  ${i.ok ? 'PASS' : 'FAIL'}  ${i.name}: ${i.detail}`);
  return out.join('\n');
}

/** Counts by key, in insertion order. */
export class Tally {
  readonly counts = new Map<string, number>();
  add(key: string, n = 1): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + n);
  }
  get(key: string): number {
    return this.counts.get(key) ?? 0;
  }
  total(): number {
    let n = 0;
    for (const v of this.counts.values()) n += v;
    return n;
  }
  /** "2xx 10, 4xx 3" sorted by key. */
  summary(): string {
    const keys = [...this.counts.keys()].sort();
    return keys.length === 0 ? '-' : keys.map((k) => `${k} ${this.counts.get(k)}`).join(', ');
  }
}

/** `202` → `2xx`; no status → the failure's name (`timeout`, `reset`, ...). */
export function statusClass(status: number | undefined, failure?: string): string {
  if (status === undefined) return failure ?? 'no-response';
  return `${Math.floor(status / 100)}xx`;
}
