import { describe, expect, it } from 'vitest';
import { isoTime } from '../../../broker/rfc3339.js';

describe('isoTime = new Date(time).toISOString()', () => {
  it('on canonical, non-canonical and out-of-range timestamps', () => {
    const samples = [
      '2026-12-04T10:00:00.000Z', '0000-01-01T00:00:00.000Z', '9999-12-31T23:59:59.999Z', '2024-02-29T12:00:00.000Z',
      '2023-02-29T12:00:00.000Z', '2024-04-31T00:00:00.000Z', '2024-01-01T24:00:00.000Z', '2016-12-31T23:59:60.000Z',
      '2024-05-06T07:08:09Z', '2024-05-06T07:08:09.1234Z', '2024-05-06T07:08:09.123+02:00', '2024-05-06t07:08:09.123z',
    ];
    for (let i = 0; i < 200; i++) samples.push(new Date(Math.floor(Math.random() * 253402300799999)).toISOString());
    for (const s of samples) {
      let want: string | Error;
      try {
        want = new Date(s).toISOString();
      } catch (err) {
        want = err as Error;
      }
      if (want instanceof Error) expect(() => isoTime(s), s).toThrow(RangeError);
      else expect(isoTime(s), s).toBe(want);
    }
  });
});
