/** A small client of the Wisp control API: Kubernetes-shaped paths, Status errors, NDJSON streams. Every call has a timeout. */
import type { KObject } from '../api/types.js';
import { CLI_DEFAULTS } from './defaults.js';
import { ApiError, type KStatus, TimeoutError, UnauthorizedError, UnreachableError } from './errors.js';
import type { TokenChoice } from './token.js';

export interface PutResult {
  object: KObject | undefined;
  /** From the `x-wisp-apply` header. */
  result: 'created' | 'configured' | 'unchanged';
  /** The texts of `Warning: 299 - "text"` headers. */
  warnings: string[];
}

export interface ClientOptions {
  /** e.g. `http://127.0.0.1:8090` */
  server: string;
  /** Per call; for streams, until the answer's headers arrive. */
  timeoutMs?: number;
  /** The bearer token sent as `Authorization: Bearer <token>`, and where it came from (named when the API refuses it). */
  auth?: TokenChoice;
}

/** Parses one `Warning` header value (RFC 7234: `299 - "text"`, possibly several comma-separated). */
export function parseWarningHeader(value: string): string[] {
  const out: string[] = [];
  // Lenient about unescaped quotes inside the text: a warning ends at a quote followed by the end or the next `, 299 `.
  const re = /\d{3}\s+\S+\s+"((?:\\.|[^\\])*?)"(?:\s+"[^"]*")?\s*(?=,\s*\d{3}\s|$)/g;
  for (let m = re.exec(value); m; m = re.exec(value)) out.push((m[1] ?? '').replace(/\\(.)/g, '$1'));
  if (out.length === 0 && value.trim() !== '') out.push(value.trim());
  return out;
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_SOCKET']);

/** TLS failures: the certificate is not trusted, does not name the host, or the server does not speak TLS. */
const TLS_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'ERR_SSL_WRONG_VERSION_NUMBER',
  'ERR_SSL_PACKET_LENGTH_TOO_LONG',
]);

function causeOf(err: unknown, codes: ReadonlySet<string>): { code: string; message: string } | undefined {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && codes.has(code)) return { code, message: e.message };
    if (e instanceof AggregateError) {
      for (const inner of e.errors) {
        const c = causeOf(inner, codes);
        if (c) return c;
      }
    }
  }
  return undefined;
}

function causeCode(err: unknown): string | undefined {
  return causeOf(err, NETWORK_CODES)?.code;
}

function isStatus(v: unknown): v is KStatus {
  return typeof v === 'object' && v !== null && (v as { kind?: unknown }).kind === 'Status';
}

export class ControlApiClient {
  readonly server: string;
  private readonly timeoutMs: number;
  private readonly auth: TokenChoice | undefined;

  constructor(opts: ClientOptions) {
    this.server = opts.server.replace(/\/+$/, '');
    this.timeoutMs = opts.timeoutMs ?? CLI_DEFAULTS.requestTimeoutMs;
    this.auth = opts.auth;
  }

  async get(path: string): Promise<KObject> {
    const { text } = await this.call('GET', path);
    return parseJson(text) as KObject;
  }

  /** The items of a list; each gets `apiVersion`/`kind` from `defaults` when the server left them out. */
  async list(path: string, defaults?: { apiVersion: string; kind: string }): Promise<KObject[]> {
    const { text } = await this.call('GET', path);
    const body = parseJson(text) as { items?: KObject[] } | undefined;
    const items = Array.isArray(body?.items) ? body.items : [];
    return defaults ? items.map((i) => ({ ...i, apiVersion: i.apiVersion ?? defaults.apiVersion, kind: i.kind ?? defaults.kind })) : items;
  }

  async put(path: string, object: KObject): Promise<PutResult> {
    const { res, text } = await this.call('PUT', path, object);
    const header = res.headers.get('x-wisp-apply');
    const result = header === 'created' || header === 'configured' || header === 'unchanged' ? header : res.status === 201 ? 'created' : 'configured';
    const warnings: string[] = [];
    const raw = res.headers.get('warning');
    if (raw !== null) warnings.push(...parseWarningHeader(raw));
    return { object: parseJson(text) as KObject | undefined, result, warnings };
  }

  async delete(path: string): Promise<void> {
    await this.call('DELETE', path);
  }

  /** A newline-delimited JSON answer read whole (within the timeout). */
  async getNdjson(path: string): Promise<unknown[]> {
    const { text } = await this.call('GET', path);
    return text
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as unknown);
  }

  /** Streams newline-delimited JSON values until the server ends the answer or `signal` aborts. */
  async *stream(path: string, signal?: AbortSignal): AsyncGenerator<unknown> {
    const res = await this.open(path, signal);
    if (!res.body) return;
    const decoder = new TextDecoder();
    let buffer = '';
    const reader = res.body.getReader();
    const onAbort = (): void => void reader.cancel().catch(() => undefined);
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      for (;;) {
        let chunk: Awaited<ReturnType<typeof reader.read>>;
        try {
          chunk = await reader.read();
        } catch (err) {
          if (signal?.aborted) return;
          throw err;
        }
        if (chunk.done) break;
        buffer += decoder.decode(chunk.value, { stream: true });
        let nl = buffer.indexOf('\n');
        while (nl >= 0) {
          const line = buffer.slice(0, nl).trim();
          buffer = buffer.slice(nl + 1);
          if (line !== '') yield JSON.parse(line) as unknown;
          nl = buffer.indexOf('\n');
        }
      }
      const rest = (buffer + decoder.decode()).trim();
      if (rest !== '') yield JSON.parse(rest) as unknown;
    } finally {
      signal?.removeEventListener('abort', onAbort);
      await reader.cancel().catch(() => undefined);
    }
  }

  /** One request whose whole answer is read within the timeout. */
  private async call(method: string, path: string, body?: unknown): Promise<{ res: Response; text: string }> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(this.timeoutError(method, path)), this.timeoutMs);
    try {
      const res = await this.send(method, path, body, controller.signal);
      const text = await res.text();
      if (res.status >= 400) throw this.errorOf(method, path, res, text);
      return { res, text };
    } catch (err) {
      throw this.translate(err, controller.signal);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Opens a streaming answer: the timeout covers the wait for its headers only. */
  private async open(path: string, signal?: AbortSignal): Promise<Response> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(this.timeoutError('GET', path)), this.timeoutMs);
    const onAbort = (): void => controller.abort(signal?.reason);
    if (signal?.aborted) onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const res = await this.send('GET', path, undefined, controller.signal);
      if (res.status >= 400) throw this.errorOf('GET', path, res, await res.text());
      return res;
    } catch (err) {
      signal?.removeEventListener('abort', onAbort);
      throw this.translate(err, controller.signal);
    } finally {
      clearTimeout(timer);
    }
  }

  private send(method: string, path: string, body: unknown, signal: AbortSignal): Promise<Response> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.auth?.token !== undefined) headers['authorization'] = `Bearer ${this.auth.token}`;
    const init: RequestInit = { method, signal, headers };
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    return fetch(this.server + path, init);
  }

  private timeoutError(method: string, path: string): TimeoutError {
    return new TimeoutError(`wisp: the Wisp control API at ${this.server} did not answer ${method} ${path} within ${this.timeoutMs} ms`);
  }

  /** A 401 says where the token came from (or where the CLI looked); any other error status is an ApiError. */
  private errorOf(method: string, path: string, res: Response, text: string): ApiError | UnauthorizedError {
    const err = errorOf(method, path, res, text);
    if (res.status === 401) return new UnauthorizedError(this.server, this.auth ?? { token: undefined, from: 'nowhere (no token given)' }, err.status);
    return err;
  }

  private translate(err: unknown, signal: AbortSignal): unknown {
    if (err instanceof ApiError || err instanceof UnauthorizedError) return err;
    if (signal.aborted) return signal.reason;
    const tls = causeOf(err, TLS_CODES);
    if (tls !== undefined) {
      const hint = tls.code.startsWith('ERR_SSL_')
        ? 'the server does not speak TLS: use an http:// --server'
        : 'if its certificate is self-signed, trust it with NODE_EXTRA_CA_CERTS=<cert.pem>';
      // Node adds its own advice after a `;` (e.g. --use-system-ca); the hint below is the one that fits Wisp.
      return new UnreachableError(this.server, err, `TLS: ${tls.message.split(';')[0]}; ${hint}`);
    }
    const code = causeCode(err);
    if (code !== undefined && this.server.startsWith('http://') && (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET')) {
      return new UnreachableError(this.server, err, 'the connection was closed; if that wisp up serves https (--api-tls-cert), use an https:// --server');
    }
    if (causeCode(err) !== undefined) return new UnreachableError(this.server, err);
    // fetch refuses some addresses itself (e.g. "bad port"): say so instead of a bare "fetch failed".
    if (err instanceof TypeError && err.message === 'fetch failed' && err.cause instanceof Error) {
      return new UnreachableError(this.server, err, err.cause.message);
    }
    return err;
  }
}

function parseJson(text: string): unknown {
  return text.trim() === '' ? undefined : (JSON.parse(text) as unknown);
}

function errorOf(method: string, path: string, res: Response, text: string): ApiError {
  let parsed: unknown;
  try {
    parsed = parseJson(text);
  } catch {
    parsed = undefined;
  }
  if (isStatus(parsed)) return new ApiError(res.status, parsed);
  const fromJson = typeof parsed === 'object' && parsed !== null ? (parsed as { message?: unknown }).message : undefined;
  const message =
    typeof fromJson === 'string' ? fromJson : text.trim() !== '' ? (text.trim().split('\n')[0] ?? '') : `${method} ${path} answered ${res.status} ${res.statusText}`;
  return new ApiError(res.status, { kind: 'Status', code: res.status, message });
}
