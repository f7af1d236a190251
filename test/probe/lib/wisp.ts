/**
 * `wisp up` as a child process on free loopback ports with its own state dir (like test/support's WispProcess,
 * but it fails at once when the process exits during start-up, and keeps only the tail of its output).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../support/wait.js';
import { ROOT } from '../../support/wisp.js';
import { httpCall } from './http.js';

const BIN = join(ROOT, 'bin/wisp.js');
const OUTPUT_TAIL_CHARS = 64 * 1024;

export class WispUp {
  child: ChildProcess | undefined;
  #output = '';

  private constructor(
    readonly stateDir: string,
    readonly ports: { ingress: number; broker: number; api: number },
    readonly env: Record<string, string>,
  ) {}

  static async create(env: Record<string, string> = {}): Promise<WispUp> {
    const stateDir = await mkdtemp(join(tmpdir(), 'wisp-probe-'));
    return new WispUp(stateDir, { ingress: await freePort(), broker: await freePort(), api: await freePort() }, env);
  }

  /** The last 64 KiB of what `wisp up` printed. */
  get output(): string {
    return this.#output;
  }

  async start(): Promise<void> {
    const args = [BIN, 'up', '--state-dir', this.stateDir, '--ingress-port', String(this.ports.ingress), '--broker-port', String(this.ports.broker), '--api-port', String(this.ports.api)];
    const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, WISP_LOG_LEVEL: 'warn', ...this.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    const append = (c: Buffer): void => {
      this.#output += c.toString();
      if (this.#output.length > 2 * OUTPUT_TAIL_CHARS) this.#output = this.#output.slice(-OUTPUT_TAIL_CHARS);
    };
    child.stdout?.on('data', append);
    child.stderr?.on('data', append);
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`wisp up exited during start-up (code ${child.exitCode}, signal ${child.signalCode}): ${this.#output.slice(-2000)}`);
      try {
        const res = await httpCall({ port: this.ports.api, path: '/readyz', timeoutMs: 1000 });
        if (res.status === 200) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`wisp up not ready after 60 s: ${this.#output.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Stops with a signal (SIGKILL after 15 s) and waits for the exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  }

  async cleanup(): Promise<void> {
    await this.stop();
    await rm(this.stateDir, { recursive: true, force: true });
  }
}
