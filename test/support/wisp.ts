import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Agent, fetch as undiciFetch } from 'undici';
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

export interface CliOptions {
  server?: string;
  /** The state dir of the `wisp up` to talk to: the CLI reads its token there (as WISP_STATE_DIR). */
  stateDir?: string;
  /** Sent as WISP_TOKEN. */
  token?: string;
  /** More environment (wins over the above). */
  env?: Record<string, string>;
  stdin?: string;
  cwd?: string;
  timeoutMs?: number;
}

/** Runs the built `wisp` CLI as a user would (requires `npm run build`, which `npm test` does first). */
export function runCli(args: string[], opts: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    // Which server and token the CLI uses is the test's choice, never the runner's environment.
    const { WISP_SERVER: _s, WISP_STATE_DIR: _d, WISP_TOKEN: _t, ...inherited } = process.env;
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: opts.cwd ?? ROOT,
      env: {
        ...inherited,
        ...(opts.server ? { WISP_SERVER: opts.server } : {}),
        ...(opts.stateDir ? { WISP_STATE_DIR: opts.stateDir } : {}),
        ...(opts.token ? { WISP_TOKEN: opts.token } : {}),
        ...opts.env,
      },
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

  /** The control API's URL: https when the process was given WISP_API_TLS_CERT. */
  get server(): string {
    return `${this.tlsCert ? 'https' : 'http'}://127.0.0.1:${this.ports.api}`;
  }

  /** The certificate the control API serves (and that clients trust), when it serves https. */
  get tlsCert(): string | undefined {
    return this.env.WISP_API_TLS_CERT;
  }

  /** The control API's bearer token, as `wisp up` keeps it in `<state-dir>/token`. */
  get token(): string {
    return readFileSync(join(this.stateDir, 'token'), 'utf8').trim();
  }

  /** fetch on the control API with the bearer token (and the TLS certificate trusted); `path` starts with `/`. */
  fetch(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (!headers.has('authorization')) headers.set('authorization', `Bearer ${this.token}`);
    return this.fetchAnonymous(path, { ...init, headers });
  }

  /** fetch on the control API as it is, without a token. */
  fetchAnonymous(path: string, init: RequestInit = {}): Promise<Response> {
    const signal = init.signal ?? AbortSignal.timeout(10_000);
    const cert = this.tlsCert;
    if (!cert) return fetch(`${this.server}${path}`, { ...init, signal });
    this.#agent ??= new Agent({ connect: { ca: readFileSync(cert) } });
    return undiciFetch(`${this.server}${path}`, { ...(init as object), signal, dispatcher: this.#agent }) as unknown as Promise<Response>;
  }

  #agent: Agent | undefined;

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Starts `wisp up` and waits until the control API is ready. */
  async start(manifests: string[] = [], opts: { args?: string[] } = {}): Promise<void> {
    const args = [
      BIN, 'up',
      '--state-dir', this.stateDir,
      '--ingress-port', String(this.ports.ingress),
      '--broker-port', String(this.ports.broker),
      '--api-port', String(this.ports.api),
      ...manifests.flatMap((m) => ['-f', m]),
      ...(opts.args ?? []),
    ];
    const child = spawn(process.execPath, args, {
      cwd: ROOT,
      env: { ...process.env, WISP_LOG_LEVEL: 'warn', ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    child.stdout?.on('data', (c: Buffer) => (this.output += c.toString()));
    child.stderr?.on('data', (c: Buffer) => (this.output += c.toString()));
    // A wisp up that exits (bad flags, a refused token file) fails the start at once, with everything it printed.
    const exited = new Promise<never>((_, reject) => child.once('close', (code) => reject(new Error(`wisp up exited with ${code}: ${this.output}`))));
    exited.catch(() => undefined);
    const ready = waitFor(
      async () => {
        if (child.exitCode !== null) return false;
        const res = await this.fetchAnonymous('/readyz', { signal: AbortSignal.timeout(1000) });
        return res.status === 200;
      },
      { timeoutMs: 60_000, what: 'wisp up ready' },
    );
    ready.catch(() => undefined);
    await Promise.race([ready, exited]);
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

  /** The CLI against this process: it finds the token through WISP_STATE_DIR, and trusts the TLS certificate. */
  cli(args: string[], opts: Omit<CliOptions, 'server'> = {}): Promise<CliResult> {
    const env = { ...(this.tlsCert ? { NODE_EXTRA_CA_CERTS: this.tlsCert } : {}), ...opts.env };
    return runCli(args, { server: this.server, stateDir: this.stateDir, ...opts, env });
  }

  async cleanup(): Promise<void> {
    await this.stop();
    await this.#agent?.close();
    this.#agent = undefined;
    await rm(this.stateDir, { recursive: true, force: true });
  }
}
