import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  ConnectionTable,
  ERROR_CODES,
  HTTP_LIMITS_DEFAULTS,
  InvalidHttpLimitsError,
  clientErrorAnswer,
  kubernetesStatusBody,
  rawResponse,
  refusalAnswer,
  resolveHttpLimits,
  textErrorBody,
} from '../../../core/index.js';

describe('HTTP limits', () => {
  it('defaults leave descriptors for replicas and the other ports: 4096 per port, 512 per client, 5 s for a request head', () => {
    expect(resolveHttpLimits()).toEqual({ maxConnections: 4096, maxConnectionsPerClient: 512, headersTimeoutMs: 5000, checkIntervalMs: 1000 });
    expect(Object.isFrozen(resolveHttpLimits())).toBe(true);
    expect(HTTP_LIMITS_DEFAULTS.maxConnections * 4).toBeLessThan(20_000);
    expect(resolveHttpLimits({ headersTimeoutMs: 200 }).checkIntervalMs).toBe(40);
  });

  it('rejects limits a server cannot run with, naming the field', () => {
    expect(() => resolveHttpLimits({ maxConnections: 0 })).toThrow(new InvalidHttpLimitsError('HTTP limits: maxConnections must be a positive integer, got 0'));
    expect(() => resolveHttpLimits({ headersTimeoutMs: 1.5 })).toThrow(/headersTimeoutMs must be a positive integer, got 1.5/);
    expect(() => resolveHttpLimits({ maxConnections: 10, maxConnectionsPerClient: 11 })).toThrow(/maxConnectionsPerClient \(11\) must not be over maxConnections \(10\)/);
    expect(() => resolveHttpLimits({ headersTimeoutMs: 100, checkIntervalMs: 200 })).toThrow(/checkIntervalMs \(200\) must not be over headersTimeoutMs \(100\)/);
    const err = new InvalidHttpLimitsError('x');
    expect([err.code, err.statusCode, err.retriable]).toEqual(['WISP_ERR_INVALID_HTTP_LIMITS', 500, false]);
    const src = readFileSync(new URL('../../../core/errors.ts', import.meta.url), 'utf8');
    expect(new Set(src.match(/WISP_ERR_[A-Z_]+/g))).toEqual(new Set(Object.keys(ERROR_CODES)));
  });

  it('counts connections per client and in total; a client over its own cap is told so first', () => {
    const t = new ConnectionTable({ maxConnections: 3, maxConnectionsPerClient: 2 });
    expect([t.admit('a'), t.admit('a'), t.admit('a')]).toEqual(['accepted', 'accepted', 'client-limit']);
    expect([t.admit('b'), t.admit('c'), t.admit('a')]).toEqual(['accepted', 'port-limit', 'client-limit']);
    expect([t.total, t.of('a'), t.of('b'), t.of('c')]).toEqual([3, 2, 1, 0]);
    t.release('a');
    expect(t.admit('c')).toBe('accepted');
    for (const c of ['a', 'b', 'c']) t.release(c);
    t.release('nobody');
    expect([t.total, t.of('a')]).toEqual([0, 0]);
  });

  it('maps client errors to 408, 431, 413 and 400 with reasons; a reset gets no answer', () => {
    const facts = { message: 'Parse Error: Invalid method encountered', headComplete: false, headersTimeoutMs: 5000, requestTimeoutMs: 300_000, maxHeaderBytes: 16384 };
    expect(clientErrorAnswer({ ...facts, code: 'ERR_HTTP_REQUEST_TIMEOUT' })).toEqual({ status: 408, message: 'request timeout: the request line and headers did not arrive within 5000 ms' });
    expect(clientErrorAnswer({ ...facts, code: 'ERR_HTTP_REQUEST_TIMEOUT', headComplete: true })).toEqual({ status: 408, message: 'request timeout: the request did not arrive completely within 300000 ms' });
    expect(clientErrorAnswer({ ...facts, code: 'HPE_HEADER_OVERFLOW' })?.status).toBe(431);
    expect(clientErrorAnswer({ ...facts, code: 'HPE_CHUNK_EXTENSIONS_OVERFLOW' })?.status).toBe(413);
    expect(clientErrorAnswer({ ...facts, code: 'HPE_INVALID_METHOD' })).toEqual({ status: 400, message: 'bad request: Parse Error: Invalid method encountered' });
    expect(clientErrorAnswer({ ...facts, code: 'ECONNRESET' })).toBeUndefined();
  });

  it('renders a raw response in text, JSON or Kubernetes Status, with Retry-After on a refusal', () => {
    expect(rawResponse(refusalAnswer('port-limit', '10.0.0.1', 4), textErrorBody)).toBe(
      'HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: 66\r\nconnection: close\r\nretry-after: 1\r\n\r\n' +
        'too many connections to this port: at most 4 at once; retry later\n',
    );
    expect(JSON.parse(kubernetesStatusBody(408, 'slow').body)).toEqual({
      apiVersion: 'v1',
      kind: 'Status',
      status: 'Failure',
      message: 'slow',
      reason: 'Timeout',
      details: { causes: [] },
      code: 408,
    });
  });
});
