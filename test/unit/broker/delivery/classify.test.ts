import { describe, expect, it } from 'vitest';
import { classifyResult, classifyStatus } from '../../../../broker/delivery/index.js';

describe('classifyStatus', () => {
  it.each([
    [200, 'success'],
    [201, 'success'],
    [202, 'success'],
    [204, 'success'],
    [404, 'retryable'],
    [408, 'retryable'],
    [409, 'retryable'],
    [429, 'retryable'],
    [500, 'retryable'],
    [502, 'retryable'],
    [503, 'retryable'],
    [504, 'retryable'],
    [599, 'retryable'],
    [400, 'permanent'],
    [401, 'permanent'],
    [403, 'permanent'],
    [405, 'permanent'],
    [410, 'permanent'],
    [413, 'permanent'],
    [415, 'permanent'],
    [422, 'permanent'],
    [301, 'permanent'],
    [302, 'permanent'],
    [100, 'permanent'],
  ])('%d is %s', (status, cls) => {
    expect(classifyStatus(status)).toBe(cls);
  });

  it('retries network errors and timeouts', () => {
    expect(classifyResult({ kind: 'timeout' })).toBe('retryable');
    expect(classifyResult({ kind: 'network-error', error: new Error('ECONNREFUSED') })).toBe('retryable');
    expect(classifyResult({ kind: 'response', status: 413, headers: {}, body: Buffer.alloc(0), truncated: false })).toBe('permanent');
  });
});
