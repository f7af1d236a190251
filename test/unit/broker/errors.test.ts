import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as errors from '../../../broker/errors.js';
import { ERROR_CODES, type BrokerError } from '../../../broker/errors.js';

describe('broker errors', () => {
  it('every code has a sample, a description, a status and a retriable flag', () => {
    const samples: BrokerError[] = [
      new errors.BrokerNotFoundError('default', 'nope'),
      new errors.BrokerStartingError(),
      new errors.InvalidEventError('invalid CloudEvent: missing required attribute "id"'),
      new errors.UnsupportedMediaTypeError('application/cloudevents+xml'),
      new errors.PayloadTooLargeError(1024),
      new errors.MethodNotAllowedError('GET'),
      new errors.BackendFullError('default/default', 'default/t', 10),
      new errors.BatchTooLargeError('default/default', 11, 10, 'the backlog limit of trigger default/t'),
      new errors.BackendClosedError('default/default'),
      new errors.BackendUnavailableError('default/default', 'connect ECONNREFUSED 127.0.0.1:9'),
      new errors.HandlerFailedError('default/t', 'e1', 'threw: boom'),
      new errors.InvalidIngressConfigError('maxBodyBytes too small'),
    ];
    expect(new Set(samples.map((e) => e.code))).toEqual(new Set(Object.keys(ERROR_CODES)));
    for (const code of Object.keys(ERROR_CODES)) expect(ERROR_CODES[code as keyof typeof ERROR_CODES].length).toBeGreaterThan(10);
    expect(samples.filter((e) => e.retriable).map((e) => e.code)).toEqual(['WISP_ERR_BROKER_STARTING', 'WISP_ERR_BACKEND_FULL', 'WISP_ERR_BACKEND_CLOSED', 'WISP_ERR_BACKEND_UNAVAILABLE']);
    expect(samples.map((e) => e.statusCode)).toEqual([404, 503, 400, 415, 413, 405, 503, 413, 503, 503, 500, 500]);
    expect(new errors.BrokerNotFoundError('default', 'nope').message).toBe('broker default/nope not found');
    expect(errors.isRetriable(new errors.BackendFullError('a/b', 'a/t', 1))).toBe(true);
    expect(errors.isRetriable(new Error('x'))).toBe(false);
  });

  it('every code used in broker/errors.ts is in ERROR_CODES', () => {
    const src = readFileSync(new URL('../../../broker/errors.ts', import.meta.url), 'utf8');
    const used = new Set(src.match(/WISP_ERR_[A-Z_]+/g));
    expect(used).toEqual(new Set(Object.keys(ERROR_CODES)));
  });
});
