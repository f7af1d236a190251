import { Counter, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { countedChild, flushCounted } from '../../../broker/counted.js';
import { IngressMetrics } from '../../../broker/ingress/metrics.js';

describe('counted children (plain numbers handed to prom-client at scrape time)', () => {
  it('a scrape shows every increment once, however often it is scraped', async () => {
    const registry = new Registry();
    const counter = new Counter({ name: 'c_total', help: 'h', labelNames: ['k'], registers: [registry], collect() { flushCounted(this); } });
    const a = countedChild(counter, 'a', { k: 'a' });
    const b = countedChild(counter, 'b', { k: 'b' });
    a.inc();
    a.inc(2);
    expect(await registry.metrics()).toContain('c_total{k="a"} 3');
    expect(await registry.metrics()).not.toContain('k="b"');
    b.inc();
    a.inc();
    const text = await registry.metrics();
    expect(text).toContain('c_total{k="a"} 4');
    expect(text).toContain('c_total{k="b"} 1');
    expect(countedChild(counter, 'a', { k: 'a' })).toBe(a);
  });

  it('two ingresses on one registry count into the same series', async () => {
    const registry = new Registry();
    const one = new IngressMetrics(registry);
    const two = new IngressMetrics(registry);
    one.accept('default/b', 2);
    two.accept('default/b', 3);
    expect(await registry.metrics()).toContain('wisp_broker_events_accepted_total{broker="default/b"} 5');
  });
});
