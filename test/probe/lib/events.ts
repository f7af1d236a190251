/** Building requests for the probes: binary-mode CloudEvent headers, raw HTTP/1.1 requests, batches. */
import type { Agent } from 'node:http';
import { failureName, httpCall } from './http.js';

export const PROBE_TYPE = 'dev.wisp.probe';

export function binaryHeaders(id: string, extra: Record<string, string> = {}): Record<string, string> {
  return { 'ce-specversion': '1.0', 'ce-id': id, 'ce-source': '/wisp/probe', 'ce-type': PROBE_TYPE, 'content-type': 'application/json', ...extra };
}

export function structuredEvent(id: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { specversion: '1.0', id, source: '/wisp/probe', type: PROBE_TYPE, datacontenttype: 'application/json', data: { id }, ...extra };
}

/**
 * A raw HTTP/1.1 request. Adds `Host` (unless `host` is null), `Content-Length` (unless the headers set it or
 * Transfer-Encoding, or `noLength`), and `Connection: close`. Header values are written byte for byte (latin1).
 */
export function rawRequest(opts: {
  method?: string;
  path: string;
  headers?: [string, string][] | Record<string, string>;
  body?: Buffer | string;
  host?: string | null;
  version?: string;
  noLength?: boolean;
}): Buffer {
  const headers = Array.isArray(opts.headers) ? opts.headers : Object.entries(opts.headers ?? {});
  const body = opts.body === undefined ? Buffer.alloc(0) : Buffer.isBuffer(opts.body) ? opts.body : Buffer.from(opts.body, 'utf8');
  const lines = [`${opts.method ?? 'POST'} ${opts.path} ${opts.version ?? 'HTTP/1.1'}`];
  if (opts.host !== null) lines.push(`Host: ${opts.host ?? '127.0.0.1'}`);
  const names = new Set(headers.map(([k]) => k.toLowerCase()));
  for (const [k, v] of headers) lines.push(`${k}: ${v}`);
  if (!opts.noLength && !names.has('content-length') && !names.has('transfer-encoding') && (body.length > 0 || (opts.method ?? 'POST') === 'POST')) {
    lines.push(`Content-Length: ${body.length}`);
  }
  if (!names.has('connection')) lines.push('Connection: close');
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), body]);
}

export interface SendResult {
  status: number | undefined;
  retryAfter: boolean;
  failure?: string;
  ms: number;
}

/** POSTs one request to the broker ingress on a keep-alive agent; network failures are a result, not an exception. */
export async function post(opts: { port: number; path: string; headers: Record<string, string>; body: string | Buffer; agent?: Agent; timeoutMs?: number; localAddress?: string }): Promise<SendResult> {
  const t0 = performance.now();
  try {
    const res = await httpCall({ port: opts.port, path: opts.path, method: 'POST', headers: opts.headers, body: opts.body, timeoutMs: opts.timeoutMs ?? 10_000, ...(opts.agent ? { agent: opts.agent } : {}), ...(opts.localAddress ? { localAddress: opts.localAddress } : {}) });
    return { status: res.status, retryAfter: res.headers['retry-after'] !== undefined, ms: res.ms };
  } catch (err) {
    return { status: undefined, retryAfter: false, failure: failureName(err), ms: performance.now() - t0 };
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Waits until `done()` or `ms` passed; returns whether `done()` held. */
export async function until(done: () => boolean, ms: number, intervalMs = 100): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) return false;
    await sleep(intervalMs);
  }
  return true;
}
