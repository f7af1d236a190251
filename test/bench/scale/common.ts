/** What the scale bench's parts share: `wisp up` on free ports, /proc readings, YAML applied through the CLI, curves. */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WispUp } from '../broker/wisp.js';

export { WispUp };

/** WISP_BENCH_CPU_PROF=DIR: every `wisp up` the bench starts writes a --cpu-prof there (one file per process). */
export const CPU_PROF_DIR = process.env['WISP_BENCH_CPU_PROF'];

/** A `wisp up` on free ports in a temp state dir (WISP_LOG_LEVEL=warn), profiled when WISP_BENCH_CPU_PROF is set. */
export async function startWisp(env: Record<string, string> = {}): Promise<WispUp> {
  const wisp = await WispUp.create({ ...env, ...(CPU_PROF_DIR ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${CPU_PROF_DIR}` } : {}) });
  await wisp.start();
  return wisp;
}

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** utime + stime of `pid` in µs (Linux /proc), NaN when not readable. */
export function cpuUs(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1e6) / TICKS_PER_SECOND;
  } catch {
    return NaN;
  }
}

/** Resident set size of `pid` in MiB (VmRSS), NaN when not readable. */
export function rssMiB(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** V8 heap used by `wisp up` in MiB, from its /metrics (prom-client's default metrics). */
export async function heapUsedMiB(wisp: WispUp): Promise<number> {
  const text = await (await wisp.fetch('/metrics', { signal: AbortSignal.timeout(30_000) })).text();
  const m = /^wisp_process_nodejs_heap_size_used_bytes\s+(\S+)$/m.exec(text);
  return m ? Number(m[1]) / 2 ** 20 : NaN;
}

/** `wisp apply -f <file>` of `yaml` through the CLI (the way a user applies); throws with the CLI's output on failure. */
export async function cliApply(wisp: WispUp, yaml: string, verb: 'apply' | 'delete' = 'apply'): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'wisp-bench-scale-'));
  try {
    const file = join(dir, 'resources.yaml');
    await writeFile(file, yaml);
    const res = await wisp.cli([verb, '-f', file], { timeoutMs: 600_000 });
    if (res.code !== 0) throw new Error(`wisp ${verb} failed (${res.code}): ${res.stderr.slice(0, 2000)}${res.stdout.slice(-500)}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

interface Listed {
  items?: { metadata: { name: string }; status?: { conditions?: { type: string; status: string }[] } }[];
}

/** How many objects of a list path are there, and how many of them are Ready=True. */
export async function readyCount(wisp: WispUp, path: string): Promise<{ total: number; ready: number }> {
  const res = await wisp.fetch(path, { signal: AbortSignal.timeout(60_000) });
  if (res.status !== 200) throw new Error(`GET ${path}: ${res.status}`);
  const items = ((await res.json()) as Listed).items ?? [];
  const ready = items.filter((i) => i.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True').length;
  return { total: items.length, ready };
}

/** Polls until `want` objects of `path` are Ready (every `intervalMs`); the ms it took. Throws after `timeoutMs`. */
export async function untilReady(wisp: WispUp, path: string, want: number, opts: { timeoutMs?: number; intervalMs?: number } = {}): Promise<number> {
  const t0 = performance.now();
  const deadline = t0 + (opts.timeoutMs ?? 300_000);
  for (;;) {
    const c = await readyCount(wisp, path);
    if (c.ready >= want) return performance.now() - t0;
    if (performance.now() > deadline) throw new Error(`${path}: ${c.ready} of ${want} Ready after ${opts.timeoutMs ?? 300_000} ms (${c.total} listed)`);
    await sleep(opts.intervalMs ?? 100);
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function median(values: number[]): number {
  const s = values.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
  return s.length === 0 ? NaN : (s[Math.floor((s.length - 1) / 2)] ?? NaN);
}

export const fmt = (n: number, digits = 1): string => (Number.isFinite(n) ? n.toFixed(digits) : '-');

/** Prints an aligned table: first column left-aligned, the others right-aligned. */
export function printTable(head: string[], rows: string[][]): void {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  console.log(line(head));
  for (const r of rows) console.log(line(r));
}

/**
 * Where a curve stops being linear: for each step, the per-item cost (`cost / items`) divided by the previous
 * step's. ~1 is linear; a ratio over `threshold` is flagged as growing faster than linearly (k× the items gave
 * more than k× the cost), under 1 means fixed costs being amortised.
 */
export function linearity(points: { items: number; cost: number }[], threshold = 1.5): { ratio: number; flag: string }[] {
  return points.map((p, i) => {
    const prev = points[i - 1];
    if (!prev || prev.items === 0 || p.items === 0) return { ratio: NaN, flag: '' };
    const ratio = p.cost / p.items / (prev.cost / prev.items);
    return { ratio, flag: ratio > threshold ? 'NON-LINEAR' : 'linear' };
  });
}
