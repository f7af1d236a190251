import { describe, expect, it } from 'vitest';
import { assignedEndpoints, shareOf, SOLE_ACTIVATOR } from '../../../activator/index.js';

const ep = (host: string, port = 8080) => ({ id: host, host, port });
const five = [ep('10.0.0.5'), ep('10.0.0.1'), ep('10.0.0.3'), ep('10.0.0.2'), ep('10.0.0.4')];

describe('activator subsetting (a split install: several activators in front of one revision)', () => {
  it('splits the replicas of a revision with a concurrency limit by sorted address, index modulo count: every replica in exactly one subset', () => {
    const a = assignedEndpoints(five, 1, { index: 0, count: 2 }).map((e) => e.host);
    const b = assignedEndpoints(five, 1, { index: 1, count: 2 }).map((e) => e.host);
    expect(a).toEqual(['10.0.0.1', '10.0.0.3', '10.0.0.5']);
    expect(b).toEqual(['10.0.0.2', '10.0.0.4']);
  });

  it('uses every replica when the share is unknown, when alone, without a limit, or with fewer replicas than activators', () => {
    expect(assignedEndpoints(five, 1, SOLE_ACTIVATOR)).toBe(five);
    expect(assignedEndpoints(five, 1, { index: 0, count: 1 })).toBe(five);
    expect(assignedEndpoints(five, 0, { index: 0, count: 2 })).toBe(five);
    const two = five.slice(0, 2);
    expect(assignedEndpoints(two, 1, { index: 1, count: 3 })).toBe(two);
    expect(assignedEndpoints(five, 1, { index: 4, count: 2 })).toBe(five);
  });

  it("an activator's share is its place among the names the autoscaler heard from", () => {
    expect(shareOf('activator-b', ['activator-c', 'activator-b', 'activator-a'])).toEqual({ index: 1, count: 3 });
    expect(shareOf('activator-a', ['activator-a', 'activator-a'])).toEqual({ index: 0, count: 1 });
    expect(shareOf('new', ['activator-a'])).toEqual(SOLE_ACTIVATOR);
  });
});
