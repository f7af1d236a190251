import { describe, expect, it } from 'vitest';
import { pingEvent } from '../../../src/importers/index.js';
import { isKnownTimeZone, nextFire, scheduleProblem } from '../../../src/importers/ping/schedule.js';
import { binaryMessage } from '../../../broker/delivery/binary.js';

const at = (iso: string): number => Date.parse(iso);

describe('nextFire', () => {
  it('computes 5-field schedules strictly after the given instant, in UTC by default', () => {
    expect(nextFire('* * * * *', undefined, at('2026-01-01T00:00:00Z'))).toBe(at('2026-01-01T00:01:00Z'));
    expect(nextFire('*/15 * * * *', undefined, at('2026-01-01T00:14:59.500Z'))).toBe(at('2026-01-01T00:15:00Z'));
    expect(nextFire('0 0 * * 1', undefined, at('2026-01-01T00:00:00Z'))).toBe(at('2026-01-05T00:00:00Z')); // a Monday
  });

  it('honours an optional leading seconds field', () => {
    expect(nextFire('*/2 * * * * *', undefined, at('2026-01-01T00:00:00Z'))).toBe(at('2026-01-01T00:00:02Z'));
    expect(nextFire('*/2 * * * * *', undefined, at('2026-01-01T00:00:02Z'))).toBe(at('2026-01-01T00:00:04Z'));
    expect(nextFire('30 0 12 * * *', undefined, at('2026-01-01T12:00:31Z'))).toBe(at('2026-01-02T12:00:30Z'));
  });

  it('evaluates the schedule in the time zone, across DST', () => {
    // 09:00 in Oslo is 08:00 UTC in winter and 07:00 UTC in summer.
    expect(nextFire('0 9 * * *', 'Europe/Oslo', at('2026-01-01T00:00:00Z'))).toBe(at('2026-01-01T08:00:00Z'));
    expect(nextFire('0 9 * * *', 'Europe/Oslo', at('2026-07-01T00:00:00Z'))).toBe(at('2026-07-01T07:00:00Z'));
    expect(nextFire('0 9 * * *', 'America/New_York', at('2026-01-01T00:00:00Z'))).toBe(at('2026-01-01T14:00:00Z'));
  });

  it('returns undefined for a schedule that never fires and throws on bad input', () => {
    expect(nextFire('0 0 31 2 *', undefined, at('2026-01-01T00:00:00Z'))).toBeUndefined();
    expect(() => nextFire('61 * * * *', undefined, 0)).toThrow(/minute/);
    expect(() => nextFire('* * * * *', 'Mars/Base', 0)).toThrow(/Mars\/Base/);
  });

  it('explains bad schedules and knows IANA zones', () => {
    expect(scheduleProblem('*/5 * * * *')).toBeUndefined();
    expect(scheduleProblem('61 * * * *')).toBe('Invalid value for minute: 61');
    expect(isKnownTimeZone('Asia/Tokyo')).toBe(true);
    expect(isKnownTimeZone('Mars/Base')).toBe(false);
    expect(isKnownTimeZone('')).toBe(false);
  });
});

describe('pingEvent', () => {
  it('builds the ping event with the scheduled time, data bytes from dataBase64, and extensions', () => {
    const ev = pingEvent({ namespace: 'ops', name: 'tick', id: 'id-1', fireAt: at('2026-01-01T00:00:02Z'), payload: { contentType: 'text/plain', dataBase64: 'aGVsbG8=', extensions: { team: 'ops' } } });
    expect(ev).toMatchObject({ id: 'id-1', type: 'dev.knative.sources.ping', source: '/apis/v1/namespaces/ops/pingsources/tick', datacontenttype: 'text/plain', team: 'ops' });
    expect(ev.time).toBe('2026-01-01T00:00:02.000Z');
    const msg = binaryMessage(ev);
    expect(Buffer.from(msg.body).toString()).toBe('hello');
    expect(msg.headers).toContain('ce-team');
  });
});
