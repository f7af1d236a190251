import { readFile, readdir } from 'node:fs/promises';
import { createServer } from 'node:net';

/**
 * Start time of a process from /proc/<pid>/stat (field 22, clock ticks since boot), or undefined when the process
 * is gone or /proc is unavailable. Together with the pid it identifies a process: a recycled pid has another start time.
 */
export async function processStartTime(pid: number): Promise<string | undefined> {
  try {
    return parseStatStartTime(await readFile(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

/** Pure parser of /proc/<pid>/stat; the command name (field 2) may contain spaces and parentheses. */
export function parseStatStartTime(stat: string): string | undefined {
  const close = stat.lastIndexOf(')');
  if (close < 0) return undefined;
  const fields = stat.slice(close + 2).split(' ');
  // fields[0] is field 3 (state), so field 22 (starttime) is fields[19].
  const v = fields[19];
  return v !== undefined && /^\d+$/.test(v) ? v : undefined;
}

/** Sends `signal` to the whole process group led by `pid`. Returns false when the group no longer exists. */
export function killGroup(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    // EPERM: the group exists but belongs to someone else; never retry harder than that.
    return false;
  }
}

/** True while a process with this pid exists (including zombies). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A port the OS handed out a moment ago on `host`. */
export function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => (port > 0 ? resolve(port) : reject(new Error(`no free port on ${host}`))));
    });
  });
}

/**
 * Resolves once no live (non-zombie) process is left in any of the given process groups, or after `maxMs`.
 * SIGKILL is delivered asynchronously, so a group signalled a moment ago may still have running members.
 * Polls /proc with real timers: this waits on the kernel, not on anything a clock decides.
 */
export async function waitForGroupsGone(pgids: readonly number[], maxMs: number): Promise<void> {
  if (pgids.length === 0) return;
  const wanted = new Set(pgids);
  const deadline = Date.now() + maxMs;
  while (Date.now() < deadline && (await liveGroupMembers(wanted)) > 0) {
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function liveGroupMembers(pgids: ReadonlySet<number>): Promise<number> {
  let entries: string[];
  try {
    entries = await readdir('/proc');
  } catch {
    return 0; // no /proc: nothing to check
  }
  let live = 0;
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    const stat = await readFile(`/proc/${e}/stat`, 'utf8').catch(() => '');
    const close = stat.lastIndexOf(')');
    if (close < 0) continue;
    const fields = stat.slice(close + 2).split(' ');
    // fields[0] is the state (Z = zombie, already dead), fields[2] the process group.
    if (fields[0] !== 'Z' && pgids.has(Number(fields[2]))) live++;
  }
  return live;
}
