/** Redis memory as the probes see it: INFO memory's used_memory, and the bytes of one key prefix (SCAN + MEMORY USAGE). */
import { Redis } from 'ioredis';
import { REDIS_URL } from '../../support/redis.js';

export class RedisMemory {
  readonly #r = new Redis(REDIS_URL, { lazyConnect: false, maxRetriesPerRequest: 1, connectTimeout: 2000, commandTimeout: 5000 });

  /** `used_memory` from INFO memory (the whole server: other users' keys count too). */
  async usedMemory(): Promise<number> {
    const info = await this.#r.info('memory');
    const m = /^used_memory:(\d+)/m.exec(info);
    if (!m) throw new Error('INFO memory has no used_memory');
    return Number(m[1]);
  }

  /** Keys and bytes (MEMORY USAGE, pipelined) under `<prefix>:`. */
  async prefixUsage(prefix: string): Promise<{ keys: number; bytes: number }> {
    let cursor = '0';
    let keys = 0;
    let bytes = 0;
    do {
      const [next, batch] = await this.#r.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (batch.length > 0) {
        const pipe = this.#r.pipeline();
        for (const k of batch) pipe.memory('USAGE', k);
        const res = (await pipe.exec()) ?? [];
        for (const [err, v] of res) if (!err && typeof v === 'number') bytes += v;
        keys += batch.length;
      }
    } while (cursor !== '0');
    return { keys, bytes };
  }

  close(): void {
    this.#r.disconnect();
  }
}
