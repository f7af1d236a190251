/**
 * `wisp up` in its own process for the bench, as test/support/wisp.ts's WispProcess does it, but locating
 * the repository from the compiled file too (the bench runs from dist/, where WispProcess's ROOT is dist/).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { freePort, waitFor } from '../../support/wait.js';

/** The repository root: the nearest ancestor holding bin/wisp.js. */
export const ROOT = ((): string => {
  for (let dir = import.meta.dirname; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'bin/wisp.js'))) return dir;
    if (dirname(dir) === dir) throw new Error(`bin/wisp.js not found above ${import.meta.dirname}`);
  }
})();
const BIN = join(ROOT, 'bin/wisp.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export class WispUp {
  child: ChildProcess | undefined;
  output = '';

  private constructor(
    readonly stateDir: string,
    readonly ports: { ingress: number; broker: number; api: number },
    readonly env: Record<string, string>,
  ) {}

  static async create(env: Record<string, string> = {}): Promise<WispUp> {
    const stateDir = await mkdtemp(join(tmpdir(), 'wisp-bench-'));
    const ports = { ingress: await freePort(), broker: await freePort(), api: await freePort() };
    return new WispUp(stateDir, ports, env);
  }

  get server(): string {
    return `http://127.0.0.1:${this.ports.api}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Starts `wisp up` and waits until the control API is ready. */
  async start(): Promise<void> {
    const args = [
      BIN, 'up',
      '--state-dir', this.stateDir,
      '--ingress-port', String(this.ports.ingress),
      '--broker-port', String(this.ports.broker),
      '--api-port', String(this.ports.api),
    ];
    const child = spawn(process.execPath, args, {
      cwd: ROOT,
      env: { ...process.env, WISP_LOG_LEVEL: 'warn', ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    child.stdout?.on('data', (c: Buffer) => (this.output += c.toString()));
    child.stderr?.on('data', (c: Buffer) => (this.output += c.toString()));
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`wisp up exited with ${child.exitCode}: ${this.output}`);
        const res = await fetch(`${this.server}/readyz`, { signal: AbortSignal.timeout(1000) });
        return res.status === 200;
      },
      { timeoutMs: 20_000, what: 'wisp up ready' },
    );
  }

  /** Runs the `wisp` CLI against this server. */
  cli(args: string[]): Promise<CliResult> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [BIN, ...args, '--server', this.server], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code: code ?? -1, stdout, stderr });
      });
    });
  }

  /** SIGTERM, SIGKILL after 15 s; then removes the state dir. */
  async cleanup(): Promise<void> {
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    }
    await rm(this.stateDir, { recursive: true, force: true });
  }
}
