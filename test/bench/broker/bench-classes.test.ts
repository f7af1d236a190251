import { createServer, type Server } from 'node:net';
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { Redis } from 'ioredis';
import { benchBroker, deleteRedisKeys, parseClasses } from './classes.js';
import { pidListeningOn } from './cpu.js';
import { brokerYaml } from './platform.js';

describe('bench:broker --class', () => {
  it('defaults to Memory, repeats, expands all, ignores case and repeats, rejects unknown names', () => {
    expect(parseClasses([])).toEqual(['Memory']);
    expect(parseClasses(['--class', 'Redis', '--class', 'memory'])).toEqual(['Redis', 'Memory']);
    expect(parseClasses(['--class', 'all'])).toEqual(['Memory', 'Redis', 'Kafka']);
    expect(parseClasses(['--class', 'kafka,Kafka', '--class', 'all'])).toEqual(['Kafka', 'Memory', 'Redis']);
    expect(() => parseClasses(['--class', 'Rabbit'])).toThrow(/unknown class 'Rabbit'/);
    expect(() => parseClasses(['--classes', 'Redis'])).toThrow();
  });

  it('builds a Broker per class; Kafka gets a ConfigMap with 10 partitions, replication 1, named by spec.config', () => {
    const docs = (cls: 'Memory' | 'Redis' | 'Kafka') => parseAllDocuments(brokerYaml(benchBroker(cls, 'r1'))).map((d) => d.toJS() as Record<string, any>);
    const [memory] = docs('Memory');
    expect(memory?.['metadata']).toEqual({ name: 'bench-memory-r1', namespace: 'default', annotations: { 'eventing.knative.dev/broker.class': 'MTChannelBasedBroker' } });
    expect(docs('Redis')).toHaveLength(1);
    const [cm, broker] = docs('Kafka');
    expect(cm?.['kind']).toBe('ConfigMap');
    expect(cm?.['data']).toEqual({ 'default.topic.partitions': '10', 'default.topic.replication.factor': '1' });
    expect(broker?.['metadata']?.annotations).toEqual({ 'eventing.knative.dev/broker.class': 'Kafka' });
    expect(broker?.['spec']).toEqual({ config: { apiVersion: 'v1', kind: 'ConfigMap', name: 'bench-kafka-r1-config' } });
  });
});

describe('bench:broker helpers', () => {
  let server: Server | undefined;
  afterEach(async () => {
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    server = undefined;
  });

  it('finds the pid listening on a port', async () => {
    server = createServer();
    await new Promise<void>((r) => server?.listen(0, '127.0.0.1', () => r()));
    const addr = server.address();
    if (addr === null || typeof addr === 'string') throw new Error('no port');
    expect(pidListeningOn(addr.port)).toBe(process.pid);
  });

  it('deletes exactly the keys under <prefix>: on a real Redis', async () => {
    const prefix = `wisp-bench-test-${randomUUID().slice(0, 8)}`;
    const redis = new Redis('redis://127.0.0.1:6379', { lazyConnect: true });
    await redis.connect();
    try {
      const many = Array.from({ length: 2500 }, (_, i) => [`${prefix}:k${i}`, '1']).flat();
      await redis.mset(...many);
      await redis.set(`${prefix}-other`, '1');
      expect(await deleteRedisKeys('redis://127.0.0.1:6379', prefix)).toBe(2500);
      expect(await redis.exists(`${prefix}:k0`, `${prefix}:k2499`)).toBe(0);
      expect(await redis.get(`${prefix}-other`)).toBe('1');
    } finally {
      await redis.del(`${prefix}-other`);
      redis.disconnect();
    }
  });
});
