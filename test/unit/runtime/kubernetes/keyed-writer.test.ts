import { describe, expect, it } from 'vitest';
import { KeyedWriter } from '../../../../src/runtime/kubernetes/keyed-writer.js';
import { ManualClock } from '../../../support/clock.js';

const tick = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
};

/** Writes that the test completes or fails one by one. */
function setup() {
  const clock = new ManualClock();
  const calls: { key: string; value: number; resolve: () => void; reject: (e: Error) => void }[] = [];
  const errors: string[] = [];
  const w = new KeyedWriter<number>({
    clock,
    backoff: { initialMs: 100, maxMs: 400 },
    write: (key, value) => new Promise<void>((resolve, reject) => calls.push({ key, value, resolve, reject })),
    onError: (key, err, attempt) => errors.push(`${key}#${attempt}: ${err instanceof Error ? err.message : String(err)}`),
  });
  return { clock, calls, errors, w };
}

describe('KeyedWriter (latest value wins, one write at a time, retried)', () => {
  it('coalesces: while one write runs, only the newest asked value is written next', async () => {
    const { calls, w } = setup();
    w.set('a', 1);
    w.set('a', 2);
    w.set('a', 3);
    w.set('b', 7);
    expect(calls.map((c) => `${c.key}=${c.value}`)).toEqual(['a=1', 'b=7']);
    calls[0]?.resolve();
    await tick();
    expect(calls.map((c) => `${c.key}=${c.value}`)).toEqual(['a=1', 'b=7', 'a=3']);
    calls[2]?.resolve();
    calls[1]?.resolve();
    await tick();
    expect(w.busy('a')).toBe(false);
    expect(w.busy('b')).toBe(false);
  });

  it('retries a failed write after a doubling back-off; a newer value replaces the retried one', async () => {
    const { clock, calls, errors, w } = setup();
    w.set('a', 1);
    calls[0]?.reject(new Error('HTTP 409: conflict'));
    await tick();
    expect(errors).toEqual(['a#1: HTTP 409: conflict']);
    clock.advance(99);
    expect(calls.length).toBe(1);
    clock.advance(1);
    expect(calls[1]?.value).toBe(1);
    calls[1]?.reject(new Error('HTTP 500'));
    await tick();
    w.set('a', 5);
    clock.advance(199);
    expect(calls.length).toBe(2);
    clock.advance(1);
    expect(calls[2]?.value).toBe(5);
    calls[2]?.resolve();
    await tick();
    expect(w.busy('a')).toBe(false);
  });

  it('kick() retries now; forget() drops the pending value and waits for the write in flight', async () => {
    const { calls, w } = setup();
    w.set('a', 1);
    calls[0]?.reject(new Error('HTTP 404'));
    await tick();
    w.kick('a');
    expect(calls[1]?.value).toBe(1);
    w.set('a', 2);
    let forgotten = false;
    void w.forget('a').then(() => (forgotten = true));
    await tick();
    expect(forgotten).toBe(false);
    calls[1]?.reject(new Error('HTTP 500'));
    await tick();
    expect(forgotten).toBe(true);
    expect(calls.length).toBe(2);
    expect(w.busy('a')).toBe(false);
  });

  it('close() starts nothing new', async () => {
    const { calls, w } = setup();
    await w.close();
    w.set('a', 1);
    expect(calls).toEqual([]);
  });
});
