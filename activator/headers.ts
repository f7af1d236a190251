/**
 * Header handling for the proxy hop (pure): drop hop-by-hop headers (RFC 9110 §7.6.1) and the ones named
 * in `Connection`, keep `Host`, and add X-Forwarded-For / X-Forwarded-Proto / X-Forwarded-Host / Forwarded.
 */

/** Lower-case hop-by-hop header names, plus `expect` (the activator answers 100-continue itself). */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'expect',
  'http2-settings',
]);

export function isHopByHop(lowerName: string): boolean {
  return HOP_BY_HOP.has(lowerName);
}

export interface UpstreamRequestHead {
  /** Flat [name, value, name, value, ...] for the upstream request. */
  headers: string[];
  /** The client's Host header (first one), undefined when absent. */
  host: string | undefined;
  /** True when the request carries a body (Content-Length > 0 or Transfer-Encoding). */
  hasBody: boolean;
}

const NO_TOKENS: readonly string[] = Object.freeze([]);

/** Extra header names listed in a Connection header value, excluding keep-alive/close. */
function connectionTokens(value: string): readonly string[] {
  // Nearly every message says just `keep-alive` (or `close`): no split, trim and array for it.
  if (value.length <= 10) {
    const only = value.toLowerCase();
    if (only === 'keep-alive' || only === 'close') return NO_TOKENS;
  }
  const out: string[] = [];
  for (const part of value.split(',')) {
    const t = part.trim().toLowerCase();
    if (t !== '' && t !== 'keep-alive' && t !== 'close') out.push(t);
  }
  return out;
}

/**
 * Builds the upstream request headers from Node's `rawHeaders` in one pass.
 * `clientIp` is the peer address; `proto` is `http` or `https` as the client reached the activator.
 */
export function upstreamRequestHead(raw: readonly string[], clientIp: string | undefined, proto: string): UpstreamRequestHead {
  const out: string[] = [];
  let host: string | undefined;
  let hasBody = false;
  let xff: string | undefined;
  let xfp = false;
  let xfh = false;
  let forwarded: string | undefined;
  let dropExtra: string[] | undefined;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    const lower = name.toLowerCase();
    switch (lower) {
      case 'host':
        if (host === undefined) {
          host = value;
          out.push('host', value);
        }
        continue;
      case 'content-length':
        if (value !== '0') hasBody = true;
        out.push(name, value);
        continue;
      case 'transfer-encoding':
        hasBody = true;
        continue;
      case 'connection': {
        const extra = connectionTokens(value);
        if (extra.length > 0) dropExtra = (dropExtra ?? []).concat(extra);
        continue;
      }
      case 'x-forwarded-for':
        xff = xff === undefined ? value : `${xff}, ${value}`;
        continue;
      case 'x-forwarded-proto':
        xfp = true;
        break;
      case 'x-forwarded-host':
        xfh = true;
        break;
      case 'forwarded':
        forwarded = forwarded === undefined ? value : `${forwarded}, ${value}`;
        continue;
      default:
        if (HOP_BY_HOP.has(lower)) continue;
    }
    out.push(name, value);
  }
  if (dropExtra !== undefined) {
    for (let i = out.length - 2; i >= 0; i -= 2) {
      if (dropExtra.includes(out[i]!.toLowerCase())) out.splice(i, 2);
    }
  }
  const ip = clientIp ?? 'unknown';
  out.push('x-forwarded-for', xff === undefined ? ip : `${xff}, ${ip}`);
  if (!xfp) out.push('x-forwarded-proto', proto);
  if (!xfh && host !== undefined) out.push('x-forwarded-host', host);
  const node = ip.includes(':') ? `"[${ip}]"` : ip;
  const hop = host === undefined ? `for=${node};proto=${proto}` : `for=${node};host=${quoteIfNeeded(host)};proto=${proto}`;
  out.push('forwarded', forwarded === undefined ? hop : `${forwarded}, ${hop}`);
  return { headers: out, host, hasBody };
}

function quoteIfNeeded(v: string): string {
  return /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(v) ? v : JSON.stringify(v);
}

/** Removes hop-by-hop headers (and those named in Connection) from an upstream response header object, in place. */
export function stripResponseHeaders(headers: Record<string, string | string[] | undefined>): void {
  const conn = headers['connection'];
  if (conn !== undefined) {
    for (const t of connectionTokens(Array.isArray(conn) ? conn.join(',') : conn)) delete headers[t];
  }
  for (const k in headers) if (HOP_BY_HOP.has(k)) delete headers[k];
}

/**
 * The upstream response headers as a flat [name, value, ...] list for `writeHead`, without hop-by-hop
 * headers (and those named in Connection), plus `extraName: extraValue` when the value is given.
 */
export function responseHeaderList(headers: Record<string, string | string[] | undefined>, extraName: string, extraValue: string | undefined): string[] {
  const out: string[] = [];
  const conn = headers['connection'];
  const named = conn === undefined ? undefined : connectionTokens(Array.isArray(conn) ? conn.join(',') : conn);
  for (const k in headers) {
    const v = headers[k];
    if (v === undefined || HOP_BY_HOP.has(k)) continue;
    if (named !== undefined && named.length > 0 && named.includes(k)) continue;
    if (extraValue !== undefined && k === extraName) continue;
    if (typeof v === 'string') out.push(k, v);
    else for (const one of v) out.push(k, one);
  }
  if (extraValue !== undefined) out.push(extraName, extraValue);
  return out;
}
