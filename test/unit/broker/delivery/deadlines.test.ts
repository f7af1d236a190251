import { describe, expect, it } from 'vitest';
import { Deadlines } from '../../../../broker/delivery/deadlines.js';
import { ManualClock } from '../../../support/clock.js';

function item(log: string[], name: string): { expire(): void } {
  return { expire: () => log.push(name) };
}

describe('Deadlines', () => {
  it('expires pending items at their deadline, in order, and not cancelled ones', () => {
    const clock = new ManualClock();
    const d = new Deadlines(clock);
    const log: string[] = [];
    d.add(100, item(log, 'a'));
    const b = d.add(100, item(log, 'b'));
    clock.advance(50);
    d.add(100, item(log, 'c'));
    b.cancel();
    clock.advance(49);
    expect(log).toEqual([]);
    clock.advance(1);
    expect(log).toEqual(['a']);
    clock.advance(49);
    expect(log).toEqual(['a']);
    clock.advance(1);
    expect(log).toEqual(['a', 'c']);
  });

  it('keeps separate lanes per timeout, and a lane that emptied starts again', () => {
    const clock = new ManualClock();
    const d = new Deadlines(clock);
    const log: string[] = [];
    d.add(300, item(log, 'slow'));
    d.add(100, item(log, 'fast'));
    clock.advance(100);
    expect(log).toEqual(['fast']);
    clock.advance(200);
    expect(log).toEqual(['fast', 'slow']);
    d.add(100, item(log, 'again'));
    clock.advance(100);
    expect(log).toEqual(['fast', 'slow', 'again']);
  });

  it('fires no earlier than each deadline when the head finished early', () => {
    const clock = new ManualClock();
    const d = new Deadlines(clock);
    const log: string[] = [];
    const first = d.add(100, item(log, 'first'));
    clock.advance(60);
    d.add(100, item(log, 'second'));
    first.cancel();
    clock.advance(40);
    expect(log).toEqual([]);
    clock.advance(59);
    expect(log).toEqual([]);
    clock.advance(1);
    expect(log).toEqual(['second']);
  });

  it('handles many items with compaction', () => {
    const clock = new ManualClock();
    const d = new Deadlines(clock);
    const log: string[] = [];
    const handles = Array.from({ length: 5000 }, (_, i) => d.add(10, item(log, String(i))));
    for (const h of handles.slice(0, 4999)) h.cancel();
    clock.advance(10);
    expect(log).toEqual(['4999']);
  });
});
