/** CPU time of the bench's processes (Linux /proc; this process via process.cpuUsage), to show which one saturates. */
import { readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** utime + stime of `pid` in ms, or NaN when /proc is not there. */
function procCpuMs(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return ((utime + stime) * 1000) / TICKS_PER_SECOND;
  } catch {
    return NaN;
  }
}

/** Busy and total jiffies of the whole machine (all cores), from /proc/stat; NaN when not there. */
function machineJiffies(): { busy: number; total: number } {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
    const idle = (v[3] ?? 0) + (v[4] ?? 0);
    return { busy: total - idle, total };
  } catch {
    return { busy: NaN, total: NaN };
  }
}

export interface CpuSample {
  at: number;
  machineBusy: number;
  self: number;
  wisp: number;
  subscriber: number;
}

/** Percent of one core used by each process between two samples. */
export interface CpuShare {
  generator: number;
  wisp: number;
  subscriber: number;
  /** CPU used by processes other than these three, in % of one core (other work on the machine). */
  others: number;
}

export function sampleCpu(pids: { wisp: number | undefined; subscriber: number | undefined }): CpuSample {
  const u = process.cpuUsage();
  return { at: performance.now(), machineBusy: machineJiffies().busy, self: (u.user + u.system) / 1000, wisp: procCpuMs(pids.wisp), subscriber: procCpuMs(pids.subscriber) };
}

export function cpuShare(a: CpuSample, b: CpuSample): CpuShare {
  const wall = b.at - a.at;
  const pct = (x: number, y: number): number => (100 * (y - x)) / wall;
  const generator = pct(a.self, b.self);
  const wisp = pct(a.wisp, b.wisp);
  const subscriber = pct(a.subscriber, b.subscriber);
  const machine = (100 * ((b.machineBusy - a.machineBusy) * 1000)) / TICKS_PER_SECOND / wall;
  return { generator, wisp, subscriber, others: Math.max(0, machine - generator - (Number.isNaN(wisp) ? 0 : wisp) - subscriber) };
}
