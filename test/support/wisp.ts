import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { freePort, waitFor } from './wait.js';

/** The repository root: the nearest ancestor holding bin/wisp.js (from test/ and from the compiled dist/test/ alike). */
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

/** Runs the built `wisp` CLI as a user would (requires `npm run build`, which `npm test` does first). */
export function runCli(args: string[], opts: { server?: string; stdin?: string; cwd?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: opts.cwd ?? ROOT,
      env: { ...process.env, ...(opts.server ? { WISP_SERVER: opts.server } : {}) },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code: code ?? -1, stdout, stderr });
    });
    child.stdin.end(opts.stdin ?? '');
  });
}

/** A `wisp up` process on free ports with its own state dir. */
export class WispProcess {
  child: ChildProcess | undefined;
  output = '';

  private constructor(
    readonly stateDir: string,
    readonly ports: { ingress: number; broker: number; api: number },
    readonly env: Record<string, string>,
  ) {}

  static async create(env: Record<string, string> = {}): Promise<WispProcess> {
    const stateDir = await mkdtemp(join(tmpdir(), 'wisp-e2e-'));
    const ports = { ingress: await freePort(), broker: await freePort(), api: await freePort() };
    return new WispProcess(stateDir, ports, env);
  }

  get server(): string {
    return `http://127.0.0.1:${this.ports.api}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Starts `wisp up` and waits until the control API is ready. */
  async start(manifests: string[] = []): Promise<void> {
    const args = [
      BIN, 'up',
      '--state-dir', this.stateDir,
      '--ingress-port', String(this.ports.ingress),
      '--broker-port', String(this.ports.broker),
      '--api-port', String(this.ports.api),
      ...manifests.flatMap((m) => ['-f', m]),
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
      { timeoutMs: 60_000, what: 'wisp up ready' },
    );
  }

  /** Stops with a signal and waits for the exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return child?.exitCode ?? null;
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    const code = await exited;
    clearTimeout(timer);
    return code;
  }

  cli(args: string[], opts: { stdin?: string } = {}): Promise<CliResult> {
    return runCli(args, { server: this.server, ...opts });
  }

  async cleanup(): Promise<void> {
    await this.stop();
    await rm(this.stateDir, { recursive: true, force: true });
  }
}
