/**
 * The haproxy child process: master-worker (`-W`) with the master CLI on a socket in the state dir, its log lines in
 * Wisp's logger, a reload as SIGUSR2 to the master (checked with `-c` first, confirmed on the master's reload
 * counter), a soft stop on close. An exit that close() did not ask for is told to `onExit`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Clock } from '../../clock.js';
import type { Logger } from '../logger.js';
import { masterCommand, parseShowProc, type WorkerInfo } from './cli.js';
import { ServeEngineBinaryError, ServeEngineStartError } from './errors.js';

export const HAPROXY_INSTALL_HINT = 'install it (Debian/Ubuntu: apt-get install haproxy) or point WISP_HAPROXY at the binary';

/**
 * The binary: `explicit` (WISP_HAPROXY) when given, else `haproxy` on `pathEnv`, else /usr/sbin/haproxy (Debian's
 * place, often not on a user's PATH). Throws ServeEngineBinaryError saying how to install it.
 */
export async function findHaproxy(opts: { explicit?: string; pathEnv?: string }): Promise<string> {
  if (opts.explicit !== undefined) {
    if (await isExecutable(opts.explicit)) return opts.explicit;
    throw new ServeEngineBinaryError(`serve engine haproxy: WISP_HAPROXY=${opts.explicit} is not an executable file; ${HAPROXY_INSTALL_HINT}`);
  }
  const dirs = (opts.pathEnv ?? '').split(delimiter).filter((d) => d !== '');
  for (const candidate of [...dirs.map((d) => join(d, 'haproxy')), '/usr/sbin/haproxy']) {
    if (await isExecutable(candidate)) return candidate;
  }
  throw new ServeEngineBinaryError(`serve engine haproxy: no haproxy binary on PATH nor at /usr/sbin/haproxy; ${HAPROXY_INSTALL_HINT}`);
}

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export interface HaproxyProcessOptions {
  binary: string;
  configFile: string;
  masterSocket: string;
  /** The worker's own stats socket (the config's `stats socket`): the stats poll reads it without the master's relay. */
  adminSocket: string;
  clock: Clock;
  log: Logger;
  /** An exit close() did not ask for (a crash, a kill). */
  onExit: (code: number | null, signal: NodeJS.Signals | null) => void;
  /** How long start() and reload() wait for the master (ms). Default 10 000. */
  startTimeoutMs?: number;
}

const POLL_MS = 10;
// A former worker leaving after a reload exits on the master's SIGUSR1 (soft stop): code 138 = 128 + 10.
const ROUTINE = /stopped \(cumulated conns|exited with code 0|exited with code 138 \(User defined signal 1\)|Exiting Master|All workers exited|is UP\/READY|is going DOWN for maintenance|leaving forced maintenance|entering forced maintenance|Loading success|New worker|Reexecuting Master|haproxy version is|path to executable is|Stopping (frontend|backend|proxy)|has no server available/;

export class HaproxyProcess {
  readonly #o: HaproxyProcessOptions;
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  #stopping = false;
  /** The last lines haproxy printed, for a start-up error. */
  #tail: string[] = [];

  constructor(opts: HaproxyProcessOptions) {
    this.#o = opts;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Spawns the master and resolves once a worker runs the config; rejects with haproxy's own words when it exits. */
  async start(): Promise<void> {
    const { binary, configFile, masterSocket } = this.#o;
    this.#tail = [];
    this.#stopping = false;
    const child = spawn(binary, ['-W', '-S', `${masterSocket},mode,600`, '-f', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    this.#exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        exit = { code, signal };
        resolve();
        if (!this.#stopping && this.#child === child) this.#o.onExit(code, signal);
      });
    });
    child.once('error', (err) => this.#o.log.error(`serve engine: haproxy ${binary}: ${err.message}`));
    for (const stream of [child.stdout, child.stderr]) {
      if (stream === null) continue;
      createInterface({ input: stream }).on('line', (line) => this.#line(line));
    }
    const deadline = this.#o.clock.now() + (this.#o.startTimeoutMs ?? 10_000);
    for (;;) {
      if (exit !== undefined) {
        throw new ServeEngineStartError(`serve engine: haproxy exited at start-up (${exit.signal ?? `code ${exit.code}`}): ${this.#tail.slice(-5).join(' | ') || 'no output'}`);
      }
      const info = await this.info().catch(() => undefined);
      if (info !== undefined && info.workers.length > 0) return;
      if (this.#o.clock.now() > deadline) {
        await this.stop();
        throw new ServeEngineStartError(`serve engine: haproxy's master CLI ${masterSocket} did not answer within ${this.#o.startTimeoutMs ?? 10_000} ms: ${this.#tail.slice(-5).join(' | ') || 'no output'}`);
      }
      await this.#sleep(POLL_MS);
    }
  }

  info(): Promise<WorkerInfo> {
    return masterCommand(this.#o.masterSocket, ['show proc'], { worker: false, timeoutMs: 2000 }).then(parseShowProc);
  }

  /** Worker commands (`@1`-prefixed). */
  command(commands: readonly string[]): Promise<string> {
    return masterCommand(this.#o.masterSocket, commands, { worker: true });
  }

  /** A read-only command on the current worker's stats socket directly (cheaper than through the master). */
  stats(cmd: string): Promise<string> {
    return masterCommand(this.#o.adminSocket, [cmd], { worker: false, timeoutMs: 2000 });
  }

  /** Checks the config file with `haproxy -c`, then SIGUSR2; resolves once the master counts the reload done. */
  async reload(): Promise<void> {
    await this.#check();
    const child = this.#child;
    if (child === undefined || child.exitCode !== null) throw new ServeEngineStartError('serve engine: haproxy is not running');
    const before = await this.info();
    child.kill('SIGUSR2');
    const deadline = this.#o.clock.now() + (this.#o.startTimeoutMs ?? 10_000);
    for (;;) {
      await this.#sleep(POLL_MS);
      const now = await this.info().catch(() => undefined);
      if (now !== undefined && now.failedReloads > before.failedReloads) {
        throw new ServeEngineStartError(`serve engine: haproxy refused the new config: ${this.#tail.slice(-3).join(' | ')}`);
      }
      if (now !== undefined && now.masterReloads > before.masterReloads && now.workers.length > 0 && now.workers.some((w) => !before.workers.includes(w))) return;
      if (this.#o.clock.now() > deadline) throw new ServeEngineStartError(`serve engine: haproxy did not finish a reload within ${this.#o.startTimeoutMs ?? 10_000} ms`);
    }
  }

  /** Soft stop (SIGUSR1: stop listening, finish requests in flight), SIGTERM after `graceMs`, SIGKILL 2 s later. */
  async stop(graceMs = 10_000): Promise<void> {
    const child = this.#child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    this.#stopping = true;
    child.kill('SIGUSR1');
    const term = this.#o.clock.setTimeout(() => child.kill('SIGTERM'), graceMs);
    const kill = this.#o.clock.setTimeout(() => child.kill('SIGKILL'), graceMs + 2000);
    await this.#exited;
    term.cancel();
    kill.cancel();
  }

  #check(): Promise<void> {
    return new Promise((resolve, reject) => {
      const c = spawn(this.#o.binary, ['-c', '-q', '-f', this.#o.configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      c.stdout?.on('data', (d: Buffer) => (out += d.toString()));
      c.stderr?.on('data', (d: Buffer) => (out += d.toString()));
      c.once('error', reject);
      c.once('exit', (code) => (code === 0 ? resolve() : reject(new ServeEngineStartError(`serve engine: haproxy -c refused ${this.#o.configFile}: ${out.trim().split('\n').slice(-5).join(' | ')}`))));
    });
  }

  #line(line: string): void {
    if (line.trim() === '') return;
    this.#tail.push(line);
    if (this.#tail.length > 20) this.#tail.shift();
    const msg = `haproxy: ${line}`;
    // Its own lifecycle (reloads, soft stops, servers leaving maintenance as the engine asks) is routine: debug. So is
    // a backend left without servers: the engine points its hosts at the activator before it takes the last one away.
    if (ROUTINE.test(line)) this.#o.log.debug(msg);
    else if (/^\[(ALERT|EMERG)/.test(line)) this.#o.log.error(msg);
    else if (/^\[WARNING/.test(line)) this.#o.log.warn(msg);
    else if (/^\[NOTICE/.test(line)) this.#o.log.debug(msg);
    else this.#o.log.info(msg);
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((r) => this.#o.clock.setTimeout(r, ms));
  }
}
