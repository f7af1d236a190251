import { readFileSync } from 'node:fs';
import { ApiException, KubeConfig } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { apiError } from '../../../../src/runtime/kubernetes/api.js';
import {
  InitialSyncTimeoutError,
  KUBERNETES_RUNTIME_ERROR_CODES,
  KubernetesApiError,
  KubernetesRuntime,
  type KubernetesRuntimeError,
} from '../../../../src/runtime/index.js';
import { statusCodeOf } from '../../../../src/runtime/kubernetes/reflector.js';
import { freePort } from '../../../support/wait.js';

describe('Kubernetes API errors', () => {
  it('say what, where and the API server answer; 4xx refusals are not retriable, conflicts and outages are', () => {
    const body = JSON.stringify({ kind: 'Status', code: 422, message: 'Deployment.apps "x" is invalid: spec.template.spec.containers[0].image: Required value' });
    const e = apiError('create Deployment ns/x', new ApiException(422, 'Unprocessable Entity', body, {}));
    expect(e).toBeInstanceOf(KubernetesApiError);
    expect(e.message).toBe('create Deployment ns/x: HTTP 422: Deployment.apps "x" is invalid: spec.template.spec.containers[0].image: Required value');
    expect(e.httpStatus).toBe(422);
    expect(e.retriable).toBe(false);
    expect(e.code).toBe('WISP_ERR_K8S_API');
    expect(apiError('scale', new ApiException(409, 'Conflict', '', {})).retriable).toBe(true);
    const down = apiError('watch pods', Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6443'), { code: 'ECONNREFUSED' }) }));
    expect(down.message).toBe('watch pods: fetch failed (connect ECONNREFUSED 127.0.0.1:6443)');
    expect(down.httpStatus).toBeUndefined();
    expect(down.retriable).toBe(true);
    // The reflector reads the HTTP status, not the WispError's edge statusCode (502).
    expect(statusCodeOf(apiError('watch', Object.assign(new Error('Gone'), { statusCode: 410 })))).toBe(410);
    expect(statusCodeOf({ kind: 'Status', code: 410 })).toBe(410);
    expect(statusCodeOf(down)).toBeUndefined();
  });

  it('every code is documented in ERROR_CODES', () => {
    const src = readFileSync(new URL('../../../../src/runtime/kubernetes/errors.ts', import.meta.url), 'utf8');
    const used = new Set([...src.matchAll(/readonly code = '([A-Z0-9_]+)'/g)].map((m) => m[1]));
    expect([...used].sort()).toEqual(Object.keys(KUBERNETES_RUNTIME_ERROR_CODES).sort());
  });
});

describe('KubernetesRuntime.create without an API server', () => {
  it('keeps listing with back-off, reports each failure, and fails with InitialSyncTimeoutError after its budget', async () => {
    const kc = new KubeConfig();
    // A port nothing listens on: connections are refused at once.
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: `https://127.0.0.1:${await freePort()}`, skipTLSVerify: true }],
      users: [{ name: 'u', token: 't' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    const errors: KubernetesRuntimeError[] = [];
    const err = await KubernetesRuntime.create({ kubeConfig: kc, initialSyncTimeoutMs: 600, backoff: { initialMs: 50, maxMs: 100 }, onError: (e) => errors.push(e) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InitialSyncTimeoutError);
    expect((err as Error).message).toMatch(/^kubernetes runtime: pods, endpointslices, deployments not listed within 600 ms \(last error: list .*ECONNREFUSED/);
    expect(errors.length).toBeGreaterThanOrEqual(6);
    expect(errors.every((e) => e instanceof KubernetesApiError && e.retriable)).toBe(true);
  });
});
