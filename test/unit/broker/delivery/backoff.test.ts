import { describe, expect, it } from 'vitest';
import { MAX_DELAY_MS, backoffDelayMs, parseRetryAfter, retryDelayMs } from '../../../../broker/delivery/index.js';

const exp = { backoffPolicy: 'exponential' as const, backoffDelayMs: 200, retryAfterMaxMs: 60_000 };
const lin = { backoffPolicy: 'linear' as const, backoffDelayMs: 200, retryAfterMaxMs: 60_000 };
const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);

describe('backoff', () => {
  it('exponential: k-th retry waits backoffDelay × 2^k', () => {
    expect([1, 2, 3, 4, 10].map((k) => backoffDelayMs(exp, k))).toEqual([400, 800, 1600, 3200, 204_800]);
  });
  it('linear: k-th retry waits backoffDelay × k', () => {
    expect([1, 2, 3, 10].map((k) => backoffDelayMs(lin, k))).toEqual([200, 400, 600, 2000]);
  });
  it('clamps what no timer can hold', () => {
    expect(backoffDelayMs(exp, 60)).toBe(MAX_DELAY_MS);
    expect(backoffDelayMs(exp, 5000)).toBe(MAX_DELAY_MS);
  });
});

describe('Retry-After', () => {
  it('parses delta-seconds and HTTP-dates relative to now', () => {
    expect(parseRetryAfter('1', NOW)).toBe(1000);
    expect(parseRetryAfter(' 120 ', NOW)).toBe(120_000);
    expect(parseRetryAfter(new Date(NOW + 5000).toUTCString(), NOW)).toBe(5000);
    expect(parseRetryAfter(new Date(NOW - 5000).toUTCString(), NOW)).toBe(0);
    expect(parseRetryAfter('soon', NOW)).toBeUndefined();
    expect(parseRetryAfter('-3', NOW)).toBeUndefined();
    expect(parseRetryAfter(undefined, NOW)).toBeUndefined();
  });

  it('on 429/503 uses the larger of backoff and the capped Retry-After', () => {
    expect(retryDelayMs({ delivery: exp, retry: 1, status: 429, retryAfter: '1', now: NOW })).toBe(1000);
    expect(retryDelayMs({ delivery: exp, retry: 1, status: 503, retryAfter: '0', now: NOW })).toBe(400);
    // backoff larger than Retry-After wins
    expect(retryDelayMs({ delivery: exp, retry: 4, status: 429, retryAfter: '1', now: NOW })).toBe(3200);
    // capped by retryAfterMax
    expect(retryDelayMs({ delivery: { ...exp, retryAfterMaxMs: 2000 }, retry: 1, status: 429, retryAfter: '3600', now: NOW })).toBe(2000);
    expect(retryDelayMs({ delivery: { ...exp, retryAfterMaxMs: 2000 }, retry: 1, status: 503, retryAfter: new Date(NOW + 3_600_000).toUTCString(), now: NOW })).toBe(2000);
    expect(retryDelayMs({ delivery: exp, retry: 1, status: 503, retryAfter: new Date(NOW + 7000).toUTCString(), now: NOW })).toBe(7000);
  });

  it('is ignored for other statuses, for retryAfterMax PT0S and when unparsable', () => {
    expect(retryDelayMs({ delivery: exp, retry: 1, status: 500, retryAfter: '30', now: NOW })).toBe(400);
    expect(retryDelayMs({ delivery: { ...exp, retryAfterMaxMs: 0 }, retry: 1, status: 429, retryAfter: '30', now: NOW })).toBe(400);
    expect(retryDelayMs({ delivery: exp, retry: 1, status: 429, retryAfter: 'later', now: NOW })).toBe(400);
    expect(retryDelayMs({ delivery: lin, retry: 2, now: NOW })).toBe(400);
  });
});
