/** Starts test/fixtures/bench-subscriber.js in its own process and reads its stats. */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { freePort, waitFor } from '../../support/wait.js';
import { ROOT } from './wisp.js';

const FIXTURE = join(ROOT, 'test/fixtures/bench-subscriber.js');

export interface SubscriberStats {
  count: number;
  recorded: number;
  overflow: number;
  firstAt: number;
  lastAt: number;
  p50: number | null;
  p90: number | null;
  p99: number | null;
  max: number | null;
  paths: Record<string, number>;
  duplicates: number;
}

export class Subscriber {
  output = '';
  private constructor(readonly port: number, readonly child: ChildProcess) {}

  static async start(): Promise<Subscriber> {
    const port = await freePort();
    const child = spawn(process.execPath, [FIXTURE, String(port)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const sub = new Subscriber(port, child);
    child.stdout?.on('data', (c: Buffer) => (sub.output += c.toString()));
    child.stderr?.on('data', (c: Buffer) => (sub.output += c.toString()));
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`bench-subscriber exited with ${child.exitCode}: ${sub.output}`);
        return (await fetch(`${sub.origin}/stats`, { signal: AbortSignal.timeout(1000) })).status === 200;
      },
      { timeoutMs: 10_000, what: 'bench-subscriber listening' },
    );
    return sub;
  }

  get origin(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async stats(): Promise<SubscriberStats> {
    const res = await fetch(`${this.origin}/stats`, { signal: AbortSignal.timeout(10_000) });
    if (res.status !== 200) throw new Error(`GET /stats: ${res.status}`);
    return (await res.json()) as SubscriberStats;
  }

  async reset(): Promise<void> {
    const res = await fetch(`${this.origin}/reset`, { method: 'POST', signal: AbortSignal.timeout(10_000) });
    if (res.status !== 204) throw new Error(`POST /reset: ${res.status}`);
  }

  /**
   * Polls until `expected` deliveries arrived, or until no new delivery arrived for `stallMs`.
   * Returns the last stats (the caller compares `count` with `expected`).
   */
  async drain(expected: number, stallMs = 10_000, timeoutMs = 300_000): Promise<SubscriberStats> {
    const deadline = Date.now() + timeoutMs;
    let last = await this.stats();
    let lastChange = Date.now();
    while (last.count < expected && Date.now() < deadline && Date.now() - lastChange < stallMs) {
      await new Promise((r) => setTimeout(r, 100));
      const s = await this.stats();
      if (s.count !== last.count) lastChange = Date.now();
      last = s;
    }
    return last;
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }
}
