/**
 * Probes for the test kubelet: the threshold logic (pure) and the three probe kinds the real kubelet runs most
 * (httpGet, tcpSocket, exec), each bounded by the probe's timeoutSeconds. gRPC probes are not supported: they fail
 * with a message saying so.
 */
import { execFile } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import type { V1Container, V1Probe } from '@kubernetes/client-node';

export interface ProbeTiming {
  initialDelayMs: number;
  periodMs: number;
  timeoutMs: number;
  successThreshold: number;
  failureThreshold: number;
}

/** The probe's timing with Kubernetes' defaults; `maxPeriodMs` shortens long periods for fast tests. */
export function probeTiming(probe: V1Probe, maxPeriodMs?: number): ProbeTiming {
  const periodMs = (probe.periodSeconds ?? 10) * 1000;
  return {
    initialDelayMs: (probe.initialDelaySeconds ?? 0) * 1000,
    periodMs: maxPeriodMs !== undefined ? Math.min(periodMs, maxPeriodMs) : periodMs,
    timeoutMs: (probe.timeoutSeconds ?? 1) * 1000,
    successThreshold: probe.successThreshold ?? 1,
    failureThreshold: probe.failureThreshold ?? 3,
  };
}

/**
 * Consecutive results → the probe's verdict, as the kubelet's prober worker: the verdict flips to success after
 * `successThreshold` successes in a row and to failure after `failureThreshold` failures in a row.
 */
export class ProbeTracker {
  #successes = 0;
  #failures = 0;
  #result: boolean;

  constructor(
    private readonly timing: Pick<ProbeTiming, 'successThreshold' | 'failureThreshold'>,
    initial: boolean,
  ) {
    this.#result = initial;
  }

  get result(): boolean {
    return this.#result;
  }

  get failuresInARow(): number {
    return this.#failures;
  }

  /** Records one probe outcome; returns true when the verdict changed. */
  record(ok: boolean): boolean {
    const before = this.#result;
    if (ok) {
      this.#successes++;
      this.#failures = 0;
      if (this.#successes >= this.timing.successThreshold) this.#result = true;
    } else {
      this.#failures++;
      this.#successes = 0;
      if (this.#failures >= this.timing.failureThreshold) this.#result = false;
    }
    return before !== this.#result;
  }
}

export interface ProbeTarget {
  podIP: string;
  container: V1Container;
  /** Runs `file args` in the Pod's network with the container's env (for exec probes). */
  exec(file: string, args: readonly string[], timeoutMs: number): Promise<{ code: number; output: string }>;
}

export interface ProbeOutcome {
  ok: boolean;
  message: string;
}

function resolvePort(port: number | string | undefined, container: V1Container): number | undefined {
  if (typeof port === 'number') return port;
  if (port === undefined) return undefined;
  if (/^\d+$/.test(port)) return Number(port);
  return container.ports?.find((p) => p.name === port)?.containerPort;
}

function httpProbe(url: URL, headers: Record<string, string>, timeoutMs: number): Promise<ProbeOutcome> {
  return new Promise((resolve) => {
    const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(
      url,
      { method: 'GET', headers: { 'user-agent': 'kube-probe/test-kubelet', accept: '*/*', ...headers }, agent: false, timeout: timeoutMs, rejectUnauthorized: false },
      (res) => {
        res.resume();
        const code = res.statusCode ?? 0;
        resolve({ ok: code >= 200 && code < 400, message: `HTTP probe ${url.href}: status ${code}` });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timeout after ${timeoutMs} ms`)));
    req.on('error', (err) => resolve({ ok: false, message: `HTTP probe ${url.href} failed: ${err.message}` }));
    req.end();
  });
}

function tcpProbe(host: string, port: number, timeoutMs: number): Promise<ProbeOutcome> {
  return new Promise((resolve) => {
    const sock = connect({ host, port });
    const timer = setTimeout(() => {
      sock.destroy();
      resolve({ ok: false, message: `dial tcp ${host}:${port}: i/o timeout` });
    }, timeoutMs);
    sock.once('connect', () => {
      clearTimeout(timer);
      sock.destroy();
      resolve({ ok: true, message: `dial tcp ${host}:${port}: connected` });
    });
    sock.once('error', (err) => {
      clearTimeout(timer);
      resolve({ ok: false, message: `dial tcp ${host}:${port}: ${err.message}` });
    });
  });
}

/** Runs one probe against a running container. Never throws. */
export async function runProbe(probe: V1Probe, target: ProbeTarget, timeoutMs: number): Promise<ProbeOutcome> {
  try {
    if (probe.httpGet) {
      const g = probe.httpGet;
      const port = resolvePort(g.port as number | string | undefined, target.container);
      if (port === undefined) return { ok: false, message: `HTTP probe: port ${String(g.port)} not found in the container's ports` };
      const host = g.host ?? target.podIP;
      const scheme = (g.scheme ?? 'HTTP').toLowerCase();
      const path = g.path ?? '/';
      const url = new URL(`${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}${path.startsWith('/') ? path : `/${path}`}`);
      const headers: Record<string, string> = {};
      for (const h of g.httpHeaders ?? []) headers[h.name.toLowerCase()] = h.value;
      return await httpProbe(url, headers, timeoutMs);
    }
    if (probe.tcpSocket) {
      const port = resolvePort(probe.tcpSocket.port as number | string | undefined, target.container);
      if (port === undefined) return { ok: false, message: `TCP probe: port ${String(probe.tcpSocket.port)} not found in the container's ports` };
      return await tcpProbe(probe.tcpSocket.host ?? target.podIP, port, timeoutMs);
    }
    if (probe.exec) {
      const [file, ...args] = probe.exec.command ?? [];
      if (file === undefined) return { ok: false, message: 'exec probe: empty command' };
      const r = await target.exec(file, args, timeoutMs);
      return { ok: r.code === 0, message: `exec probe ${file}: exit ${r.code}${r.output ? `: ${r.output.trim().slice(0, 200)}` : ''}` };
    }
    if (probe.grpc) return { ok: false, message: 'gRPC probes are not supported by the test kubelet' };
    return { ok: false, message: 'probe has no handler' };
  } catch (err) {
    return { ok: false, message: `probe error: ${(err as Error).message}` };
  }
}

/** An exec for probes and hooks: `file args` through `wrap`, killed after `timeoutMs`. */
export function execWithTimeout(
  wrapped: { file: string; args: string[] },
  env: Record<string, string>,
  cwd: string,
  timeoutMs: number,
): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(wrapped.file, wrapped.args, { env, cwd, timeout: timeoutMs, killSignal: 'SIGKILL', encoding: 'utf8' }, (err, stdout, stderr) => {
      if (!err) return resolve({ code: 0, output: stdout + stderr });
      const code = typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1;
      resolve({ code: code === 0 ? 1 : code, output: stdout + stderr || err.message });
    });
  });
}
