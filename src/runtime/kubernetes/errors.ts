/** Typed errors of the Kubernetes runtime. Codes are stable; see `ERROR_CODES` for the list. */
import { WispError, type WispErrorOptions } from '../../errors.js';

export type KubernetesRuntimeErrorOptions = WispErrorOptions;

export abstract class KubernetesRuntimeError extends WispError<string> {}

/**
 * An API call failed: `what` names the call and the object (`create Deployment default/hello-00001-deployment`),
 * `httpStatus` is the API server's answer (undefined when there was none: connection refused, timeout).
 */
export class KubernetesApiError extends KubernetesRuntimeError {
  readonly code = 'WISP_ERR_K8S_API';
  readonly statusCode = 502;
  readonly retriable: boolean;
  readonly httpStatus: number | undefined;
  /** The API server's own message (`Deployment.apps "x" is invalid: ...`), when it sent one. */
  readonly apiMessage: string | undefined;

  constructor(what: string, httpStatus: number | undefined, apiMessage: string | undefined, opts: KubernetesRuntimeErrorOptions = {}) {
    const why = httpStatus !== undefined ? `HTTP ${httpStatus}${apiMessage ? `: ${apiMessage}` : ''}` : (apiMessage ?? 'no answer');
    super(`${what}: ${why}`, opts);
    this.httpStatus = httpStatus;
    this.apiMessage = apiMessage;
    // 4xx other than conflict / too many requests / gone: the same request gets the same answer.
    this.retriable = httpStatus === undefined || httpStatus >= 500 || httpStatus === 409 || httpStatus === 429 || httpStatus === 410;
  }
}

/** deploy() or scale() after close(). */
export class KubernetesRuntimeClosedError extends KubernetesRuntimeError {
  readonly code = 'WISP_ERR_K8S_RUNTIME_CLOSED';
  readonly statusCode = 503;
  readonly retriable = false;

  constructor(op: string) {
    super(`kubernetes runtime: ${op} after close()`);
  }
}

/** create() could not list Pods, EndpointSlices and Deployments within its initial-sync budget. */
export class InitialSyncTimeoutError extends KubernetesRuntimeError {
  readonly code = 'WISP_ERR_K8S_INITIAL_SYNC';
  readonly statusCode = 503;
  readonly retriable = true;

  constructor(pending: readonly string[], timeoutMs: number, opts: KubernetesRuntimeErrorOptions = {}) {
    super(`kubernetes runtime: ${pending.join(', ')} not listed within ${timeoutMs} ms${lastCause(opts.cause)}`, opts);
  }
}

function lastCause(cause: unknown): string {
  if (cause === undefined) return '';
  return ` (last error: ${cause instanceof Error ? cause.message : String(cause)})`;
}

export const ERROR_CODES = {
  WISP_ERR_K8S_API: 'A Kubernetes API call failed (the message names the call, the object and the API server answer); retried with back-off.',
  WISP_ERR_K8S_RUNTIME_CLOSED: 'The Kubernetes runtime was used after close().',
  WISP_ERR_K8S_INITIAL_SYNC: 'The Kubernetes runtime could not list its Pods, EndpointSlices and Deployments at start-up.',
} as const;
