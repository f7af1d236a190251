/**
 * Which process holds a TCP connection, from /proc (Linux): how tests see which data-plane worker accepted a
 * client's connection or opened a delivery, without anything in Wisp that would tell.
 */
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

interface TcpRow {
  localPort: number;
  remotePort: number;
  inode: string;
}

function tcpRows(): TcpRow[] {
  const rows: TcpRow[] = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10) continue;
      const port = (addr: string): number => parseInt(addr.slice(addr.lastIndexOf(':') + 1), 16);
      rows.push({ localPort: port(f[1]!), remotePort: port(f[2]!), inode: f[9]! });
    }
  }
  return rows;
}

function socketInodes(pid: number): Set<string> {
  const out = new Set<string>();
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return out;
  }
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) out.add(m[1]!);
    } catch {
      // closed meanwhile
    }
  }
  return out;
}

/**
 * For each (localPort, remotePort) pair (the socket as its holder sees it), the pid among `pids` that holds it;
 * pairs no one of them holds are left out.
 */
export function holdersOf(pairs: readonly { localPort: number; remotePort: number }[], pids: readonly number[]): Map<string, number> {
  const rows = tcpRows();
  const inodes = new Map(pids.map((p) => [p, socketInodes(p)]));
  const out = new Map<string, number>();
  for (const pair of pairs) {
    const row = rows.find((r) => r.localPort === pair.localPort && r.remotePort === pair.remotePort && r.inode !== '0');
    if (row === undefined) continue;
    for (const [pid, set] of inodes) if (set.has(row.inode)) out.set(`${pair.localPort}:${pair.remotePort}`, pid);
  }
  return out;
}

/** The child processes of `parent` whose command line contains `marker`. */
export function childPids(parent: number, marker: string): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== parent) continue;
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(marker)) out.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return out.sort((a, b) => a - b);
}
