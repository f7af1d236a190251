import { readFile, readdir, readlink } from 'node:fs/promises';
import type { RevisionFailure } from '../types.js';

/**
 * The progress deadline (Knative's `serving.knative.dev/progress-deadline`): a replica whose process is alive but has
 * not become ready within it fails its revision with `ProgressDeadlineExceeded`. The usual cause is a function that
 * listens on a fixed port instead of `$PORT`, so on Linux the message names the ports the replica's process group
 * does listen on: its sockets (`/proc/<pid>/fd` links `socket:[inode]`) matched against the LISTEN entries of
 * `/proc/net/tcp` and `/proc/net/tcp6`.
 */
export const PROGRESS_DEADLINE_EXCEEDED = 'ProgressDeadlineExceeded';

/** A LISTEN socket of /proc/net/tcp{,6}. */
export interface ListenEntry {
  port: number;
  inode: string;
}

/** LISTEN (state 0A) entries of a /proc/net/tcp or /proc/net/tcp6 table. Pure. */
export function parseProcNetTcp(text: string): ListenEntry[] {
  const out: ListenEntry[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
    const local = f[1];
    if (f[3] !== '0A' || local === undefined || f[9] === undefined) continue;
    const port = Number.parseInt(local.slice(local.lastIndexOf(':') + 1), 16);
    if (Number.isInteger(port) && port > 0 && /^\d+$/.test(f[9]) && f[9] !== '0') out.push({ port, inode: f[9] });
  }
  return out;
}

/** The socket inode of an fd link target (`socket:[12345]`), else undefined. Pure. */
export function socketInode(linkTarget: string): string | undefined {
  return /^socket:\[(\d+)\]$/.exec(linkTarget)?.[1];
}

/** Ports, sorted and unique, of the LISTEN entries whose socket one of `inodes` is. Pure. */
export function listeningPortsOf(entries: readonly ListenEntry[], inodes: ReadonlySet<string>): number[] {
  return [...new Set(entries.filter((e) => inodes.has(e.inode)).map((e) => e.port))].sort((a, b) => a - b);
}

/** What the replica was found doing when its progress deadline passed. */
export interface DeadlineObservation {
  /** The replica's `$PORT`. */
  port: number;
  deadlineMs: number;
  /** Ports its process group listens on; undefined when that cannot be known (no /proc). */
  listening: readonly number[] | undefined;
}

/** The revision failure for a replica past its progress deadline. Pure. */
export function progressDeadlineFailure(o: DeadlineObservation): RevisionFailure {
  const within = `not ready within the progress deadline (${formatSeconds(o.deadlineMs)}, annotation serving.knative.dev/progress-deadline)`;
  const others = (o.listening ?? []).filter((p) => p !== o.port);
  let hint: string;
  if (o.listening?.includes(o.port)) hint = 'it listens on $PORT but its readiness probe has not passed';
  else if (others.length > 0) hint = `listening on ${others.join(', ')}; listen on $PORT (${o.port})`;
  else hint = `nothing listens on $PORT (${o.port}); the process must listen on $PORT`;
  return { reason: PROGRESS_DEADLINE_EXCEEDED, message: `${within}: ${hint}` };
}

function formatSeconds(ms: number): string {
  const s = ms / 1000;
  return `${Number.isInteger(s) ? s : s.toFixed(1)}s`;
}

/** TCP ports the processes of process group `pgid` listen on; undefined without /proc. Best effort, never throws. */
export async function groupListeningPorts(pgid: number): Promise<number[] | undefined> {
  let pids: string[];
  try {
    pids = await readdir('/proc');
  } catch {
    return undefined;
  }
  const inodes = new Set<string>();
  for (const pid of pids) {
    if (!/^\d+$/.test(pid)) continue;
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    const close = stat.lastIndexOf(')');
    if (close < 0 || Number(stat.slice(close + 2).split(' ')[2]) !== pgid) continue;
    const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
    for (const fd of fds) {
      const inode = socketInode(await readlink(`/proc/${pid}/fd/${fd}`).catch(() => ''));
      if (inode !== undefined) inodes.add(inode);
    }
  }
  const tables = await Promise.all(['/proc/net/tcp', '/proc/net/tcp6'].map((p) => readFile(p, 'utf8').catch(() => '')));
  return listeningPortsOf(tables.flatMap(parseProcNetTcp), inodes);
}
