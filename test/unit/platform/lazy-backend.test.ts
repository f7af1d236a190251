import { CloudEvent } from 'cloudevents';
import { describe, expect, it, vi } from 'vitest';
import { MemoryBackend } from '../../../broker/backends/memory.js';
import { LazyBackend } from '../../../src/platform/backends.js';
import { ManualClock } from '../../support/clock.js';

const broker = { namespace: 'default', name: 'lazy' };

describe('LazyBackend (a backend whose module is imported on first use)', () => {
  it('creates the backend once for calls made while it is being created, and keeps their order', async () => {
    let created = 0;
    const clock = new ManualClock();
    const lazy = new LazyBackend(['Lazy'], async () => {
      created += 1;
      // As an import() would: the backend arrives a few turns later.
      await new Promise((r) => setImmediate(r));
      return new MemoryBackend({ clock });
    });
    expect(lazy.health()).toEqual({ ok: true });
    expect(await lazy.backlog()).toEqual([]);
    expect(created).toBe(0);

    const seen: string[] = [];
    const sub = { broker, trigger: 'default/t', maxInFlight: 1 };
    // Made before the backend exists: each waits for the one creation, in call order (the broker before its Trigger).
    const ensure = lazy.ensureBroker(broker);
    const subscribed = lazy.subscribe(sub, async ({ event }) => {
      seen.push(event.id);
      return { kind: 'done' };
    });
    await Promise.all([ensure, subscribed]);
    expect(created).toBe(1);
    await lazy.publish(broker, new CloudEvent({ id: 'e1', source: '/test', type: 'test.lazy' }));
    await vi.waitFor(() => expect(seen).toEqual(['e1']));
    expect(created).toBe(1);
    await lazy.close();
  });

  it('reports a failed creation to its caller and tries again on the next call', async () => {
    let attempts = 0;
    const clock = new ManualClock();
    const lazy = new LazyBackend(['Lazy'], async () => {
      attempts += 1;
      if (attempts === 1) throw new Error('cannot load the backend module');
      return new MemoryBackend({ clock });
    });
    await expect(lazy.ensureBroker(broker)).rejects.toThrow('cannot load the backend module');
    await expect(lazy.ensureBroker(broker)).resolves.toBeUndefined();
    expect(attempts).toBe(2);
    await lazy.close();
  });

  it('closes a backend still being created once it is there, and closes nothing when never used', async () => {
    const clock = new ManualClock();
    let backend: MemoryBackend | undefined;
    const lazy = new LazyBackend(['Lazy'], async () => {
      await new Promise((r) => setImmediate(r));
      return (backend = new MemoryBackend({ clock }));
    });
    const ensure = lazy.ensureBroker(broker);
    await lazy.close();
    await ensure;
    expect(backend).toBeDefined();
    await expect(new LazyBackend(['Never'], () => Promise.reject(new Error('not called'))).close()).resolves.toBeUndefined();
  });
});
