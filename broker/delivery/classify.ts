/**
 * Which attempt results are success, worth a retry, or final. Pure.
 *
 * Follows Knative's `SelectiveRetry` (knative/eventing pkg/kncloudevents/retries.go) and DESIGN §4:
 * 2xx is success; 404 (a pod becoming ready), 408, 409, 429 and every 5xx are retried, as are network
 * errors and timeouts; 1xx, 3xx (redirects are not followed) and every other 4xx (400, 401, 403, 413, ...)
 * are not.
 */
import type { SendResult } from './types.js';

export type AttemptClass = 'success' | 'retryable' | 'permanent';

const RETRYABLE_4XX: ReadonlySet<number> = new Set([404, 408, 409, 429]);

export function classifyStatus(status: number): AttemptClass {
  if (status >= 200 && status < 300) return 'success';
  if (status >= 500 || RETRYABLE_4XX.has(status)) return 'retryable';
  return 'permanent';
}

export function classifyResult(result: SendResult): AttemptClass {
  if (result.kind === 'unsendable') return 'permanent';
  if (result.kind !== 'response') return 'retryable';
  return classifyStatus(result.status);
}
