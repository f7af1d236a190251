import { randomUUID } from 'node:crypto';
import { RedisBackend } from '../../../broker/backends/index.js';
import { systemClock } from '../../../src/clock.js';
import { describeDeliveryPipelineContract } from '../../contract/delivery-pipeline.js';
import { REDIS_URL, deleteKeys } from '../../support/redis.js';

describeDeliveryPipelineContract('RedisBackend', async () => {
  const prefix = `wisp-pipe-${randomUUID().slice(0, 8)}`;
  const backend = new RedisBackend({ url: REDIS_URL, prefix, clock: systemClock, closeTimeoutMs: 5_000 });
  return {
    backend,
    async cleanup() {
      await backend.close();
      await deleteKeys(prefix);
    },
  };
});
