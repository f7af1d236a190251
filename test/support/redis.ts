import { Redis } from 'ioredis';

/** The Redis every machine here runs; WISP_REDIS_URL points tests at another. */
export const REDIS_URL = process.env['WISP_REDIS_URL'] ?? 'redis://127.0.0.1:6379';

/** Every key under `<prefix>:` (SCAN, never KEYS). */
export async function scanKeys(prefix: string): Promise<string[]> {
  const r = new Redis(REDIS_URL);
  try {
    const out: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      out.push(...keys);
    } while (cursor !== '0');
    return out;
  } finally {
    r.disconnect();
  }
}

/** Deletes every key under `<prefix>:`: a test's cleanup of its own key prefix. */
export async function deleteKeys(prefix: string): Promise<void> {
  const keys = await scanKeys(prefix);
  const r = new Redis(REDIS_URL);
  try {
    for (let i = 0; i < keys.length; i += 500) await r.del(...keys.slice(i, i + 500));
  } finally {
    r.disconnect();
  }
}
