import { describe, expect, it } from 'vitest';
import { parseIsoDuration } from '../../../../broker/delivery/index.js';

describe('parseIsoDuration', () => {
  it.each([
    ['PT0.2S', 200],
    ['PT1S', 1000],
    ['PT1M', 60_000],
    ['PT1H', 3_600_000],
    ['P1D', 86_400_000],
    ['P1DT2H', 86_400_000 + 7_200_000],
    ['PT1M30.5S', 90_500],
    ['PT0,5S', 500],
    ['PT0S', 0],
    ['P1W', 7 * 86_400_000],
    ['PT1.5H', 5_400_000],
    ['-PT5S', -5000],
    ['P1Y', 365.2425 * 86_400_000],
  ])('%s is %d ms', (s, ms) => {
    expect(parseIsoDuration(s)).toBe(ms);
  });

  it.each(['2s', '', 'P', 'PT', 'P1DT', '1S', 'PT-1S', 'PTS', 'P1S', 'PT1.S', 'pt1s', 'PT1H1H', 'T1S', '200ms'])('rejects %j', (s) => {
    expect(parseIsoDuration(s)).toBeUndefined();
  });
});
