import { CloudEvent } from 'cloudevents';
import { describe, expect, it } from 'vitest';
import { CesqlParseError } from '../../../../broker/cesql/index.js';
import { compileTriggerFilter } from '../../../../broker/filters/index.js';

function ev(extra: Record<string, unknown> = {}): CloudEvent<unknown> {
  return new CloudEvent({ specversion: '1.0', id: 'e-1', source: '/orders', type: 'dev.example.order.created', ...extra });
}

describe('compileTriggerFilter: no filter', () => {
  it('matches every event', () => {
    expect(compileTriggerFilter({})(ev())).toBe(true);
    expect(compileTriggerFilter({ filter: {}, filters: [] })(ev())).toBe(true);
    expect(compileTriggerFilter({ filter: { attributes: {} } })(ev())).toBe(true);
  });
});

describe('compileTriggerFilter: filter.attributes', () => {
  it('matches when every attribute is equal, case-sensitively', () => {
    const f = compileTriggerFilter({ filter: { attributes: { type: 'dev.example.order.created', source: '/orders' } } });
    expect(f(ev())).toBe(true);
    expect(f(ev({ source: '/other' }))).toBe(false);
    expect(f(ev({ type: 'DEV.example.order.created' }))).toBe(false);
  });

  it('an empty value matches any value of a present attribute', () => {
    const f = compileTriggerFilter({ filter: { attributes: { type: '', region: '' } } });
    expect(f(ev({ region: 'eu' }))).toBe(true);
    expect(f(ev({ region: 'us' }))).toBe(true);
    // an extension named with "" must still be on the event
    expect(f(ev())).toBe(false);
  });

  it('a missing attribute is no match', () => {
    const f = compileTriggerFilter({ filter: { attributes: { subject: 'order-1' } } });
    expect(f(ev())).toBe(false);
    expect(f(ev({ subject: 'order-1' }))).toBe(true);
  });

  it('addresses extensions by name, booleans and integers as their text', () => {
    const f = compileTriggerFilter({ filter: { attributes: { region: 'eu', priority: '3', urgent: 'true' } } });
    expect(f(ev({ region: 'eu', priority: 3, urgent: true }))).toBe(true);
    expect(f(ev({ region: 'eu', priority: 4, urgent: true }))).toBe(false);
  });
});

describe('compileTriggerFilter: filters dialects', () => {
  it('exact: equal value; absent attribute no match', () => {
    const f = compileTriggerFilter({ filters: [{ exact: { region: 'eu' } }] });
    expect(f(ev({ region: 'eu' }))).toBe(true);
    expect(f(ev({ region: 'eu-west' }))).toBe(false);
    expect(f(ev())).toBe(false);
  });

  it('prefix and suffix', () => {
    const p = compileTriggerFilter({ filters: [{ prefix: { type: 'dev.example.' } }] });
    expect(p(ev())).toBe(true);
    expect(p(ev({ type: 'com.other.order' }))).toBe(false);
    const s = compileTriggerFilter({ filters: [{ suffix: { type: '.created' } }] });
    expect(s(ev())).toBe(true);
    expect(s(ev({ type: 'dev.example.order.deleted' }))).toBe(false);
    expect(compileTriggerFilter({ filters: [{ suffix: { missing: 'x' } }] })(ev())).toBe(false);
  });

  it('all keys of one dialect map must match', () => {
    const f = compileTriggerFilter({ filters: [{ exact: { region: 'eu', tier: 'gold' } }] });
    expect(f(ev({ region: 'eu', tier: 'gold' }))).toBe(true);
    expect(f(ev({ region: 'eu', tier: 'silver' }))).toBe(false);
  });

  it('elements of filters are ANDed', () => {
    const f = compileTriggerFilter({ filters: [{ prefix: { type: 'dev.example.' } }, { exact: { region: 'eu' } }] });
    expect(f(ev({ region: 'eu' }))).toBe(true);
    expect(f(ev({ region: 'us' }))).toBe(false);
    expect(f(ev({ type: 'x.y', region: 'eu' }))).toBe(false);
  });

  it('all, any and not nest', () => {
    const f = compileTriggerFilter({
      filters: [
        {
          any: [
            { exact: { region: 'eu' } },
            { all: [{ exact: { region: 'us' } }, { not: { exact: { tier: 'free' } } }] },
          ],
        },
      ],
    });
    expect(f(ev({ region: 'eu', tier: 'free' }))).toBe(true);
    expect(f(ev({ region: 'us', tier: 'gold' }))).toBe(true);
    expect(f(ev({ region: 'us', tier: 'free' }))).toBe(false);
    expect(f(ev({ region: 'ap', tier: 'gold' }))).toBe(false);
  });

  it('not of a missing attribute matches', () => {
    const f = compileTriggerFilter({ filters: [{ not: { exact: { region: 'eu' } } }] });
    expect(f(ev())).toBe(true);
    expect(f(ev({ region: 'eu' }))).toBe(false);
  });

  it('filters override filter when both are set', () => {
    const spec = { filter: { attributes: { region: 'us' } }, filters: [{ exact: { region: 'eu' } }] };
    const f = compileTriggerFilter(spec);
    expect(f(ev({ region: 'eu' }))).toBe(true);
    expect(f(ev({ region: 'us' }))).toBe(false);
    // an empty filters list leaves filter in force
    const g = compileTriggerFilter({ filter: { attributes: { region: 'us' } }, filters: [] });
    expect(g(ev({ region: 'us' }))).toBe(true);
    expect(g(ev({ region: 'eu' }))).toBe(false);
  });
});

describe('compileTriggerFilter: cesql', () => {
  const f = compileTriggerFilter({ filters: [{ cesql: "type LIKE 'dev.example.%' AND amount > 100" }] });

  it('casts a string extension to Integer for a comparison', () => {
    expect(f(ev({ amount: '150' }))).toBe(true);
    expect(f(ev({ amount: 150 }))).toBe(true);
  });

  it('does not match a smaller amount, a missing amount, or an amount that is not a number', () => {
    expect(f(ev({ amount: '50' }))).toBe(false);
    expect(f(ev())).toBe(false);
    expect(f(ev({ amount: 'lots' }))).toBe(false);
    expect(f(ev({ type: 'com.other', amount: '150' }))).toBe(false);
  });

  it('an evaluation error means no match even when the value is true', () => {
    // NOT 10 is true, with a cast error
    expect(compileTriggerFilter({ filters: [{ cesql: 'NOT 10' }] })(ev())).toBe(false);
    // a non-Boolean result is no match
    expect(compileTriggerFilter({ filters: [{ cesql: "'yes'" }] })(ev())).toBe(false);
    expect(compileTriggerFilter({ filters: [{ cesql: 'TRUE' }] })(ev())).toBe(true);
  });

  it('is parsed when compiled: a syntax error throws CesqlParseError with the position', () => {
    expect(() => compileTriggerFilter({ filters: [{ cesql: "type = 'a' AND)" }] })).toThrow(CesqlParseError);
    try {
      compileTriggerFilter({ filters: [{ cesql: "type = 'a' AND)" }] });
    } catch (err) {
      expect(err).toMatchObject({ line: 1, column: 15, message: "unexpected ')' at line 1, column 15" });
    }
  });

  it('combines with the other dialects', () => {
    const g = compileTriggerFilter({ filters: [{ exact: { region: 'eu' } }, { cesql: 'INT(amount) >= 10' }] });
    expect(g(ev({ region: 'eu', amount: '10' }))).toBe(true);
    expect(g(ev({ region: 'eu', amount: '9' }))).toBe(false);
  });

  it('never throws, even for an event whose attributes cannot be read', () => {
    const hostile = new Proxy(ev(), {
      get() {
        throw new Error('boom');
      },
    });
    expect(f(hostile)).toBe(false);
  });
});
