/**
 * Who may talk to the control API: a bearer token (Kubernetes' `Authorization: Bearer <token>`), compared in
 * constant time, and — when the API listens on loopback — a `Host` that names loopback (DNS rebinding guard). Pure.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

/** Paths answered without a token (health probes carry no credentials). */
export const UNAUTHENTICATED_PATHS: ReadonlySet<string> = new Set(['/healthz', '/readyz']);

export type BearerCheck = { ok: true } | { ok: false; why: 'missing' | 'not-bearer' | 'wrong-token' };

/** A token a user may write into the token file, or pass with --token / WISP_TOKEN: one header-safe word. */
export const TOKEN_PATTERN = /^[\x21-\x7e]{16,4096}$/;

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/** Checks an `Authorization` header against the token; the comparison takes the same time whatever the input. */
export function checkBearer(header: string | undefined, token: string): BearerCheck {
  if (header === undefined || header.trim() === '') return { ok: false, why: 'missing' };
  const m = /^bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  if (!m?.[1]) return { ok: false, why: 'not-bearer' };
  // Equal-length digests: timingSafeEqual then leaks neither the token's length nor where the first difference is.
  return timingSafeEqual(digest(m[1]), digest(token)) ? { ok: true } : { ok: false, why: 'wrong-token' };
}

/** The message of the 401 for each failed check. */
export function bearerFailureMessage(why: 'missing' | 'not-bearer' | 'wrong-token'): string {
  switch (why) {
    case 'missing':
      return "Unauthorized: no Authorization header; send 'Authorization: Bearer <token>' with the token from <state-dir>/token of this Wisp";
    case 'not-bearer':
      return "Unauthorized: the Authorization header is not a bearer token; send 'Authorization: Bearer <token>'";
    case 'wrong-token':
      return 'Unauthorized: the bearer token is not the token of this Wisp (see <state-dir>/token)';
  }
}

const IPV4_LOOPBACK = /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;
const IPV4_MAPPED_LOOPBACK = /^\[::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}\]$/;

/** `localhost`, `*.localhost`, 127.0.0.0/8 or ::1 (a hostname as WHATWG URL canonicalises it, IPv6 in brackets). */
function isLoopbackHostname(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/\.$/, '');
  return h === 'localhost' || h.endsWith('.localhost') || IPV4_LOOPBACK.test(h) || h === '[::1]' || IPV4_MAPPED_LOOPBACK.test(h);
}

/**
 * True when a `Host` header names loopback: `localhost`, `*.localhost`, an address in 127.0.0.0/8 or `[::1]`, with
 * any port. The header is parsed as a URL authority would be (so `127.1` is 127.0.0.1 and `[0::1]` is [::1]);
 * anything with user info, a path or no host at all is refused.
 */
export function isLoopbackHost(hostHeader: string | undefined): boolean {
  if (hostHeader === undefined || hostHeader === '' || /[\s/\\?#@]/.test(hostHeader)) return false;
  let url: URL;
  try {
    url = new URL(`http://${hostHeader}/`);
  } catch {
    return false;
  }
  return url.username === '' && url.password === '' && url.pathname === '/' && isLoopbackHostname(url.hostname);
}

/** True when an address to bind is loopback only (`127.0.0.1`, `::1`, `localhost`, ...): then the Host check applies. */
export function isLoopbackBindAddress(address: string): boolean {
  const a = address.trim();
  if (a === '::1' || a === '[::1]') return true;
  return isLoopbackHost(a);
}

/** The 403 message for a refused Host. */
export function hostNotAllowedMessage(hostHeader: string | undefined): string {
  const shown = hostHeader === undefined ? 'no Host header' : `Host "${hostHeader.slice(0, 200)}"`;
  return (
    `Forbidden: this control API listens on loopback and only answers requests addressed to a loopback name ` +
    `(localhost, *.localhost, 127.0.0.0/8, [::1]); got ${shown} (a guard against DNS rebinding; to serve other names, bind --api-host to them)`
  );
}
