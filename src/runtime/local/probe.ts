import { request } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import type { Probe } from '../../api/types.js';

/** One readiness check, resolved to a concrete target. Pure data. */
export type ProbeTarget =
  | { kind: 'http'; scheme: 'HTTP' | 'HTTPS'; host: string; port: number; path: string; headers: Record<string, string> }
  | { kind: 'tcp'; host: string; port: number };

/** Kubernetes' default per-probe timeout. */
export const DEFAULT_PROBE_TIMEOUT_MS = 1000;

/** The container's readinessProbe (httpGet or tcpSocket) or, by default, a TCP connect to $PORT. Pure. */
export function probeTarget(probe: Probe | undefined, host: string, port: number): ProbeTarget {
  const http = probe?.httpGet;
  if (http) {
    const headers: Record<string, string> = {};
    for (const h of http.httpHeaders ?? []) headers[h.name] = h.value;
    const path = http.path ?? '/';
    return {
      kind: 'http',
      scheme: http.scheme ?? 'HTTP',
      host: http.host ?? host,
      port: http.port ?? port,
      path: path.startsWith('/') ? path : `/${path}`,
      headers,
    };
  }
  const tcp = probe?.tcpSocket;
  return { kind: 'tcp', host: tcp?.host ?? host, port: tcp?.port ?? port };
}

export function probeTimeoutMs(probe: Probe | undefined): number {
  const s = probe?.timeoutSeconds;
  return s !== undefined && s > 0 ? s * 1000 : DEFAULT_PROBE_TIMEOUT_MS;
}

/** Runs one probe; resolves true when ready (HTTP 2xx/3xx, or TCP connected), false otherwise. Never rejects. */
export function runProbe(target: ProbeTarget, signal: AbortSignal): Promise<boolean> {
  return target.kind === 'tcp' ? tcpProbe(target, signal) : httpProbe(target, signal);
}

function tcpProbe(t: { host: string; port: number }, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    const sock = connect({ host: t.host, port: t.port });
    const done = (ok: boolean): void => {
      signal.removeEventListener('abort', onAbort);
      sock.destroy();
      resolve(ok);
    };
    const onAbort = (): void => done(false);
    signal.addEventListener('abort', onAbort, { once: true });
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

function httpProbe(t: Extract<ProbeTarget, { kind: 'http' }>, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    const send = t.scheme === 'HTTPS' ? httpsRequest : request;
    let settled = false;
    const done = (ok: boolean): void => {
      if (settled) return;
      settled = true;
      resolve(ok);
    };
    const req = send(
      {
        host: t.host,
        port: t.port,
        path: t.path,
        method: 'GET',
        headers: { 'user-agent': 'wisp-probe', 'k-kubelet-probe': 'wisp', ...t.headers },
        signal,
        agent: false,
        rejectUnauthorized: false,
      },
      (res) => {
        const status = res.statusCode ?? 0;
        res.resume();
        res.once('error', () => undefined);
        done(status >= 200 && status < 400);
        res.destroy();
      },
    );
    req.once('error', () => done(false));
    req.end();
  });
}
