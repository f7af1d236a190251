/** CPU time of the bench's processes (Linux /proc; this process via process.cpuUsage), to show which one saturates. */
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

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
  backend: number;
}

/** Percent of one core used by each process between two samples. */
export interface CpuShare {
  generator: number;
  wisp: number;
  subscriber: number;
  /** The backend server (redis-server, Kafka's JVM) when its process was found, else NaN. */
  backend: number;
  /** CPU used by processes other than these, in % of one core (other work on the machine). */
  others: number;
}

export interface BenchPids {
  wisp: number | undefined;
  subscriber: number | undefined;
  backend?: number | undefined;
}

export function sampleCpu(pids: BenchPids): CpuSample {
  const u = process.cpuUsage();
  return {
    at: performance.now(),
    machineBusy: machineJiffies().busy,
    self: (u.user + u.system) / 1000,
    wisp: procCpuMs(pids.wisp),
    subscriber: procCpuMs(pids.subscriber),
    backend: procCpuMs(pids.backend),
  };
}

export function cpuShare(a: CpuSample, b: CpuSample): CpuShare {
  const wall = b.at - a.at;
  const pct = (x: number, y: number): number => (100 * (y - x)) / wall;
  const generator = pct(a.self, b.self);
  const wisp = pct(a.wisp, b.wisp);
  const subscriber = pct(a.subscriber, b.subscriber);
  const backend = pct(a.backend, b.backend);
  const machine = (100 * ((b.machineBusy - a.machineBusy) * 1000)) / TICKS_PER_SECOND / wall;
  const known = (v: number): number => (Number.isNaN(v) ? 0 : v);
  return { generator, wisp, subscriber, backend, others: Math.max(0, machine - generator - known(wisp) - subscriber - known(backend)) };
}

/**
 * The pid of the process listening on 127.0.0.1/0.0.0.0:`port` (TCP, IPv4 or IPv6), found through
 * /proc/net/tcp{,6} socket inodes and /proc/<pid>/fd links; undefined when not found (or not Linux).
 */
export function pidListeningOn(port: number): number | undefined {
  const inodes = new Set<string>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      const local = cols[1];
      // state 0A = LISTEN; column 9 is the socket inode
      if (local === undefined || cols[3] !== '0A') continue;
      if (parseInt(local.slice(local.lastIndexOf(':') + 1), 16) === port && cols[9] !== undefined) inodes.add(cols[9]);
    }
  }
  if (inodes.size === 0) return undefined;
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return undefined;
  }
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m?.[1] !== undefined && inodes.has(m[1])) return Number(pid);
      } catch {
        // fd closed meanwhile
      }
    }
  }
  return undefined;
}
