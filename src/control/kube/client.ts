/**
 * A small JSON client for the Kubernetes API on top of `@kubernetes/client-node`: the KubeConfig authenticates and
 * carries TLS (its RequestContext and dispatcher, the same path client-node's own Watch takes), this sends the
 * request and turns a non-2xx answer into a KubeApiError carrying the API server's `Status` (reason, code, causes).
 * Generic over paths so one client serves the CRDs (with their `/status` subresource), ConfigMaps and anything else.
 */
import { HttpMethod, KubeConfig, RequestContext, Watch } from '@kubernetes/client-node';
import { fetch } from 'undici';
import { WispError } from '../../errors.js';
import type { KObject } from '../../api/types.js';

/** The `Status` object the API server answers errors with. */
export interface KubeStatus {
  kind?: 'Status';
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: { name?: string; kind?: string; causes?: { field?: string; message?: string; reason?: string }[] };
}

/** A non-2xx answer from the API server, or no answer at all (`code` 0: connection refused, TLS, timeout). */
export class KubeApiError extends WispError {
  readonly code = 'WISP_ERR_KUBE_API';
  readonly statusCode: number;
  readonly retriable: boolean;
  readonly status: number;
  readonly reason: string;
  readonly body: KubeStatus | undefined;

  constructor(method: string, path: string, status: number, body: KubeStatus | undefined, cause?: unknown) {
    const what = status === 0 ? `no answer (${cause instanceof Error ? cause.message : String(cause)})` : `${status} ${body?.reason ?? ''}`.trim();
    const detail = body?.message ? `: ${body.message}` : '';
    super(`Kubernetes API ${method} ${path}: ${what}${detail}`, cause === undefined ? {} : { cause });
    this.status = status;
    // Passed through as the API server's own status; no answer at all is a 503 (the cluster is unreachable).
    this.statusCode = status === 0 ? 503 : status;
    this.retriable = status === 0 || status === 409 || status === 429 || status >= 500;
    this.reason = body?.reason ?? (status === 0 ? 'Unreachable' : 'Unknown');
    this.body = body;
  }

  get notFound(): boolean {
    return this.status === 404;
  }
  /** 409 with reason Conflict: the resourceVersion sent is stale. */
  get conflict(): boolean {
    return this.status === 409 && this.reason === 'Conflict';
  }
  get alreadyExists(): boolean {
    return this.status === 409 && this.reason === 'AlreadyExists';
  }
  /** 410 Gone / Expired: a watch's resourceVersion is too old, re-list. */
  get gone(): boolean {
    return this.status === 410 || this.reason === 'Expired' || this.reason === 'Gone';
  }
}

/** A kubeconfig that cannot be used (no current cluster, unknown context, unreadable file). */
export class KubeConfigError extends WispError {
  readonly code = 'WISP_ERR_KUBECONFIG';
  readonly statusCode = 400;
  readonly retriable = false;
}

export interface KubeList {
  metadata?: { resourceVersion?: string; continue?: string };
  items?: KObject[];
}

export type KubeWatchEvent = { type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK'; object: KObject } | { type: 'ERROR'; object: KubeStatus };

const REQUEST_TIMEOUT_MS = 30_000;

export class KubeClient {
  readonly config: KubeConfig;
  readonly #server: string;
  readonly #watch: Watch;

  constructor(config: KubeConfig) {
    this.config = config;
    const cluster = config.getCurrentCluster();
    if (!cluster) throw new KubeConfigError('the kubeconfig has no current cluster (set current-context, or pass --context NAME)');
    this.#server = cluster.server.replace(/\/+$/, '');
    this.#watch = new Watch(config);
  }

  get server(): string {
    return this.#server;
  }

  /** Sends one request; resolves the parsed JSON body of a 2xx answer, rejects a KubeApiError otherwise. */
  async request<T = unknown>(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown, contentType = 'application/json'): Promise<T> {
    const ctx = new RequestContext(this.#server + path, HttpMethod[method]);
    ctx.setHeaderParam('Accept', 'application/json');
    if (body !== undefined) {
      ctx.setHeaderParam('Content-Type', contentType);
      ctx.setBody(JSON.stringify(body));
    }
    await this.config.applySecurityAuthentication(ctx);
    let res: Awaited<ReturnType<typeof fetch>>;
    try {
      res = await fetch(ctx.getUrl(), {
        method,
        headers: ctx.getHeaders(),
        dispatcher: ctx.getDispatcher(),
        ...(body !== undefined && { body: ctx.getBody() as string }),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (err) {
      throw new KubeApiError(method, path, 0, undefined, err);
    }
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (res.status < 200 || res.status >= 300) {
      const status = parsed && typeof parsed === 'object' && (parsed as KubeStatus).kind === 'Status' ? (parsed as KubeStatus) : { message: text.slice(0, 500) };
      throw new KubeApiError(method, path, res.status, status);
    }
    return parsed as T;
  }

  /**
   * Streams a watch of `path` from `resourceVersion` (bookmarks on). `onEvent` gets each event, `onDone` once when
   * the stream ends (err undefined: it ended normally). The server is asked to end it after WATCH_TIMEOUT_SECONDS,
   * before client-node's 30 s inactivity timeout would abort an idle watch; that timeout, should it fire anyway,
   * is a normal end too: the caller resumes from the last resourceVersion, without a re-list. Returns abort.
   */
  async watch(path: string, resourceVersion: string, onEvent: (ev: KubeWatchEvent) => void, onDone: (err: unknown) => void): Promise<() => void> {
    const controller = await this.#watch.watch(
      path,
      { resourceVersion, allowWatchBookmarks: true, timeoutSeconds: WATCH_TIMEOUT_SECONDS },
      (type: string, object: unknown) => onEvent({ type, object } as KubeWatchEvent),
      (err: unknown) => onDone(err === null || isIdleTimeout(err) ? undefined : err),
    );
    return () => controller.abort();
  }
}

/** Watches end by the server's hand after this long (client-node aborts one idle for 30 s). */
const WATCH_TIMEOUT_SECONDS = 25;

/** client-node's inactivity timeout of a watch (a DOMException named TimeoutError). */
function isIdleTimeout(err: unknown): boolean {
  return err !== null && typeof err === 'object' && (err as { name?: unknown }).name === 'TimeoutError';
}

/** Loads a kubeconfig as kubectl does: the given file, else $KUBECONFIG / ~/.kube/config / in-cluster; then the context. */
export function loadKubeConfig(opts: { kubeconfig?: string; context?: string } = {}): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (opts.kubeconfig) kc.loadFromFile(opts.kubeconfig);
    else kc.loadFromDefault();
  } catch (err) {
    throw new KubeConfigError(`cannot load the kubeconfig ${opts.kubeconfig ?? '(default: $KUBECONFIG, ~/.kube/config or in-cluster)'}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  if (opts.context) {
    if (!kc.getContexts().some((c) => c.name === opts.context)) {
      throw new KubeConfigError(`context "${opts.context}" is not in the kubeconfig (it has: ${kc.getContexts().map((c) => c.name).join(', ') || 'none'})`);
    }
    kc.setCurrentContext(opts.context);
  }
  return kc;
}
