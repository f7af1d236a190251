/**
 * One control-plane process (etcd, kube-apiserver, kube-controller-manager): output appended to a log file,
 * an explicit lifecycle (idle → running → exited, startable again), stop = SIGTERM then SIGKILL after a grace.
 * `killNow()` is the synchronous last resort for a `process.on('exit')` handler.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { open, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Env } from '../kafka/tools.js';
import { isAlive } from '../../../src/runtime/local/proc.js';
import { K8sSupportError } from './errors.js';

export interface ProcessSpec {
  name: string;
  command: string;
  args: readonly string[];
  logFile: string;
  env: Env;
  cwd: string;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

type State = { kind: 'idle' } | { kind: 'running'; child: ChildProcess; exit: Promise<ExitInfo> } | { kind: 'exited'; info: ExitInfo };

export class ControlPlaneProcess {
  private state: State = { kind: 'idle' };

  constructor(readonly spec: ProcessSpec) {}

  get running(): boolean {
    return this.state.kind === 'running';
  }

  get pid(): number | undefined {
    return this.state.kind === 'running' ? this.state.child.pid : undefined;
  }

  /** How it ended, while it is not running (undefined before the first start). */
  get exitInfo(): ExitInfo | undefined {
    return this.state.kind === 'exited' ? this.state.info : undefined;
  }

  start(): void {
    if (this.state.kind === 'running') throw new K8sSupportError('WISP_ERR_K8S_RUNNING', `${this.spec.name} is already running (pid ${String(this.pid)})`);
    const fd = openSync(this.spec.logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(this.spec.command, [...this.spec.args], {
        env: this.spec.env as NodeJS.ProcessEnv,
        cwd: this.spec.cwd,
        // Own process group: Ctrl-C in a terminal reaches only us, and we stop the control plane in order.
        detached: true,
        stdio: ['ignore', fd, fd],
      });
    } finally {
      closeSync(fd);
    }
    const exit = new Promise<ExitInfo>((resolve) => {
      child.once('exit', (code, signal) => resolve({ code, signal }));
      child.once('error', () => resolve({ code: null, signal: null }));
    }).then((info) => {
      this.state = { kind: 'exited', info };
      return info;
    });
    this.state = { kind: 'running', child, exit };
  }

  /** Sends SIGKILL without waiting (for exit handlers, where nothing can be awaited). */
  killNow(): void {
    this.signal('SIGKILL');
  }

  /** Resolves when the process has exited (at once when it is not running). */
  async exited(): Promise<ExitInfo | undefined> {
    return this.state.kind === 'running' ? this.state.exit : this.exitInfo;
  }

  /** SIGKILL and wait for the exit. */
  async kill(): Promise<void> {
    if (this.state.kind !== 'running') return;
    const { exit } = this.state;
    this.signal('SIGKILL');
    await exit;
  }

  /** SIGTERM, SIGKILL when still running after `graceMs`; resolves once it has exited. */
  async stop(graceMs: number): Promise<void> {
    if (this.state.kind !== 'running') return;
    const { exit } = this.state;
    this.signal('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((r) => {
      timer = setTimeout(() => r('timeout'), graceMs);
    });
    const outcome = await Promise.race([exit.then(() => 'exited' as const), timeout]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      this.signal('SIGKILL');
      await exit;
    }
  }

  /** The last `lines` lines of the log file. */
  async logTail(lines = 40): Promise<string> {
    return tailFile(this.spec.logFile, lines);
  }

  private signal(sig: NodeJS.Signals): void {
    if (this.state.kind !== 'running') return;
    const pid = this.state.child.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, sig); // the process group
    } catch {
      try {
        this.state.child.kill(sig);
      } catch {
        // already gone
      }
    }
  }
}

/** The last `lines` non-empty lines of a file (reads at most its last 64 KiB). */
export async function tailFile(path: string, lines: number): Promise<string> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch {
    return '<no log>';
  }
  try {
    const { size } = await fh.stat();
    const len = Math.min(size, 64 * 1024);
    const buf = Buffer.alloc(len);
    await fh.read(buf, 0, len, size - len);
    const all = buf.toString('utf8').split('\n').filter((l) => l.trim() !== '');
    return all.slice(-lines).join('\n') || '<empty log>';
  } finally {
    await fh.close();
  }
}

/** The file in a control plane's directory naming the process that owns it (the one whose exit ends it). */
export const OWNER_FILE = 'owner.pid';

/**
 * Control planes left behind by a process that died without stopping them (a test worker killed by SIGKILL or by a
 * timeout: the children run in process groups of their own and outlive it). For each `<parent>/<prefix>*` directory
 * whose OWNER_FILE names a dead pid, every process whose command line points into the directory is SIGKILLed (found
 * through /proc, Linux only) and the directory removed (only the owner file when it says `keep`: a --keep / WISP_K8S_KEEP_DIR
 * run). A directory without an owner file, or whose owner lives, is left alone. Returns the directories reaped.
 */
export async function reapOrphanedControlPlanes(parent: string, prefix: string, log: (m: string) => void): Promise<string[]> {
  let names: string[];
  try {
    names = (await readdir(parent)).filter((n) => n.startsWith(prefix));
  } catch {
    return [];
  }
  const reaped: string[] = [];
  for (const name of names) {
    const dir = join(parent, name);
    const [first, second] = (await readFile(join(dir, OWNER_FILE), 'utf8').catch(() => '')).split('\n');
    const owner = Number(first?.trim());
    const keep = second?.trim() === 'keep';
    if (!Number.isInteger(owner) || owner <= 0 || isAlive(owner)) continue;
    const killed: number[] = [];
    for (const entry of await readdir('/proc').catch(() => [] as string[])) {
      const pid = Number(entry);
      if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) continue;
      const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
      if (!cmdline.split('\0').some((arg) => arg.includes(`${dir}/`))) continue;
      try {
        process.kill(pid, 'SIGKILL');
        killed.push(pid);
      } catch {
        // gone meanwhile
      }
    }
    if (keep) await rm(join(dir, OWNER_FILE), { force: true }).catch(() => {});
    else await rm(dir, { recursive: true, force: true, maxRetries: 3 }).catch(() => {});
    log(`k8s: reaped a control plane left by dead pid ${owner} (${dir}${keep ? ', kept' : ''}${killed.length > 0 ? `; killed pids ${killed.join(', ')}` : ''})`);
    reaped.push(dir);
  }
  return reaped;
}
