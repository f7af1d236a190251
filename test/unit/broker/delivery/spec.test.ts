import { describe, expect, it } from 'vitest';
import {
  DEFAULT_RETRY,
  DEFAULT_TIMEOUT_MS,
  ERROR_CODES,
  InvalidDeliveryError,
  effectiveDelivery,
  resolveDelivery,
  validateDeliverySpec,
} from '../../../../broker/delivery/index.js';

describe('validateDeliverySpec', () => {
  it('accepts a full, valid spec and an absent one', () => {
    expect(
      validateDeliverySpec(
        { retry: 3, backoffPolicy: 'linear', backoffDelay: 'PT0.5S', timeout: 'PT10S', retryAfterMax: 'PT0S', deadLetterSink: { uri: 'http://dls.default.localhost:8080' } },
        'spec.delivery',
      ),
    ).toEqual([]);
    expect(validateDeliverySpec(undefined, 'spec.delivery')).toEqual([]);
    expect(validateDeliverySpec({ deadLetterSink: { ref: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: 'dls' }, uri: '/dead' } }, 'spec.delivery')).toEqual([]);
  });

  it('names the field and the reason, as Knative does', () => {
    expect(validateDeliverySpec({ backoffDelay: '2s' }, 'spec.delivery')).toEqual([{ field: 'spec.delivery.backoffDelay', message: 'invalid ISO-8601 duration "2s"' }]);
    const issues = validateDeliverySpec(
      { retry: -1, backoffPolicy: 'random', timeout: 'PT0S', retryAfterMax: '-PT1S', deadLetterSink: {} },
      'spec.delivery',
    );
    expect(issues.map((i) => i.field)).toEqual([
      'spec.delivery.retry',
      'spec.delivery.backoffPolicy',
      'spec.delivery.timeout',
      'spec.delivery.retryAfterMax',
      'spec.delivery.deadLetterSink',
    ]);
    expect(issues[0]?.message).toBe('must be an integer >= 0, got -1');
    expect(issues[2]?.message).toBe('must be greater than 0, got "PT0S"');
  });

  it('rejects non-integer retry, non-string durations and bad destinations', () => {
    expect(validateDeliverySpec({ retry: 1.5 }, 'x')).toEqual([{ field: 'x.retry', message: 'must be an integer >= 0, got 1.5' }]);
    expect(validateDeliverySpec({ backoffDelay: 5 }, 'x')[0]?.field).toBe('x.backoffDelay');
    expect(validateDeliverySpec({ deadLetterSink: { uri: 'relative/path' } }, 'x')[0]?.field).toBe('x.deadLetterSink.uri');
    expect(validateDeliverySpec({ deadLetterSink: { ref: { kind: 'Service', name: 'a' }, uri: 'http://abs' } }, 'x')[0]?.field).toBe('x.deadLetterSink.uri');
    expect(validateDeliverySpec({ deadLetterSink: { ref: { kind: 'Service' } } }, 'x')).toEqual([{ field: 'x.deadLetterSink.ref.name', message: 'missing field(s)' }]);
    expect(validateDeliverySpec('nope', 'x')).toEqual([{ field: 'x', message: 'must be an object' }]);
  });
});

describe('resolveDelivery', () => {
  it("applies Knative's default broker config and Wisp's timeout / Retry-After defaults", () => {
    expect(resolveDelivery(undefined)).toEqual({ retry: 10, backoffPolicy: 'exponential', backoffDelayMs: 200, timeoutMs: 30_000, retryAfterMaxMs: 60_000 });
    expect(DEFAULT_RETRY).toBe(10);
    expect(DEFAULT_TIMEOUT_MS).toBe(30_000);
  });

  it('converts durations and keeps retry 0 (no || defaults)', () => {
    expect(resolveDelivery({ retry: 0, backoffPolicy: 'linear', backoffDelay: 'PT1S', timeout: 'PT2S', retryAfterMax: 'PT0S' }, 'http://dls')).toEqual({
      retry: 0,
      backoffPolicy: 'linear',
      backoffDelayMs: 1000,
      timeoutMs: 2000,
      retryAfterMaxMs: 0,
      deadLetterUri: 'http://dls',
    });
  });

  it('throws a typed error for a value validation rejects', () => {
    expect(() => resolveDelivery({ backoffDelay: '2s' })).toThrow(InvalidDeliveryError);
    try {
      resolveDelivery({ timeout: 'PT0S' });
    } catch (err) {
      expect((err as InvalidDeliveryError).code).toBe('WISP_ERR_INVALID_DELIVERY');
      expect((err as Error).message).toBe('delivery.timeout: must be greater than 0, got "PT0S"');
    }
  });

  it('documents every error code', () => {
    for (const [code, text] of Object.entries(ERROR_CODES)) {
      expect(code).toMatch(/^WISP_ERR_[A-Z_]+$/);
      expect(text.length).toBeGreaterThan(10);
    }
  });
});

describe('effectiveDelivery', () => {
  const broker = { retry: 5, backoffDelay: 'PT1S', deadLetterSink: { uri: 'http://broker-dls' } };
  it("uses the Broker's spec when the Trigger sets none", () => {
    expect(effectiveDelivery(broker, undefined)).toBe(broker);
    expect(effectiveDelivery(broker, {})).toBe(broker);
    expect(effectiveDelivery(undefined, undefined)).toBeUndefined();
  });
  it('lets a Trigger that sets any field replace it entirely (no merge)', () => {
    const trigger = { retry: 0 };
    expect(effectiveDelivery(broker, trigger)).toEqual({ retry: 0 });
    expect(resolveDelivery(effectiveDelivery(broker, trigger)).deadLetterUri).toBeUndefined();
    expect(effectiveDelivery(broker, { backoffPolicy: 'linear' })).toEqual({ backoffPolicy: 'linear' });
  });
});
