import { randomUUID } from 'node:crypto';
import { MemoryBackend, RedisBackend } from '../../../broker/backends/index.js';
import { systemClock } from '../../../src/clock.js';
import { REDIS_URL, deleteKeys } from '../../support/redis.js';
import { describeFidelity } from './fidelity-suite.js';

describeFidelity('MemoryBackend', async () => {
  const backend = new MemoryBackend({ clock: systemClock });
  return { backend, cleanup: () => backend.close() };
});

describeFidelity('RedisBackend', async () => {
  const prefix = `wisp-fid-${randomUUID().slice(0, 8)}`;
  const backend = new RedisBackend({ url: REDIS_URL, prefix, clock: systemClock, closeTimeoutMs: 5_000 });
  return {
    backend,
    async cleanup() {
      await backend.close();
      await deleteKeys(prefix);
    },
  };
});
