/**
 * One control-plane process (etcd, kube-apiserver, kube-controller-manager): output appended to a log file,
 * an explicit lifecycle (idle → running → exited, startable again), stop = SIGTERM then SIGKILL after a grace.
 * `killNow()` is the synchronous last resort for a `process.on('exit')` handler.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Env } from '../kafka/tools.js';
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
