import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { RedisBackend } from '../../../broker/backends/index.js';
import { systemClock } from '../../../src/clock.js';
import { describeDeliveryPipelineContract } from '../../contract/delivery-pipeline.js';

describeDeliveryPipelineContract('RedisBackend', async () => {
  const prefix = `wisp-pipe-${randomUUID().slice(0, 8)}`;
  const backend = new RedisBackend({ url: 'redis://127.0.0.1:6379', prefix, clock: systemClock, closeTimeoutMs: 5_000 });
  return {
    backend,
    async cleanup() {
      await backend.close();
      const redis = new Redis('redis://127.0.0.1:6379');
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length > 0) await redis.del(...keys);
      } while (cursor !== '0');
      redis.disconnect();
    },
  };
});
