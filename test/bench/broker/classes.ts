/**
 * The Broker classes the bench measures (`--class Memory|Redis|Kafka|all`, repeatable) and what each needs
 * around `wisp up`: Redis gets a unique WISP_REDIS_PREFIX whose keys are deleted afterwards (SCAN + DEL);
 * Kafka uses WISP_KAFKA_BROKERS, or a local Kafka started here and stopped afterwards.
 */
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { startKafka } from '../../support/kafka/kafka.js';
import type { BenchBroker } from './platform.js';
import { pidListeningOn } from './cpu.js';

export const BENCH_CLASSES = ['Memory', 'Redis', 'Kafka'] as const;
export type BenchClass = (typeof BENCH_CLASSES)[number];

/** Delivered ev/s (1 Trigger, closed loop) each class should reach; Memory's target is the ratio to direct. */
export const EV_TARGET: Partial<Record<BenchClass, number>> = { Redis: 6_000, Kafka: 10_000 };
export const KAFKA_PARTITIONS = 10;

/** `--class X` (repeatable, case-insensitive, `all` = every class), default Memory; in the order given, without repeats. */
export function parseClasses(argv: string[]): BenchClass[] {
  const { values } = parseArgs({ args: argv, options: { class: { type: 'string', multiple: true } }, strict: true, allowPositionals: false });
  const out: BenchClass[] = [];
  for (const raw of values.class ?? ['Memory']) {
    for (const name of raw.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
      const found = name.toLowerCase() === 'all' ? [...BENCH_CLASSES] : BENCH_CLASSES.filter((c) => c.toLowerCase() === name.toLowerCase());
      if (found.length === 0) throw new Error(`--class: unknown class '${name}' (want ${BENCH_CLASSES.join(', ')} or all)`);
      for (const c of found) if (!out.includes(c)) out.push(c);
    }
  }
  return out;
}

/** The Broker the bench applies for a class. */
export function benchBroker(cls: BenchClass, runId: string): BenchBroker {
  const name = `bench-${cls.toLowerCase()}-${runId}`;
  if (cls === 'Memory') return { name, brokerClass: 'MTChannelBasedBroker' };
  if (cls === 'Redis') return { name, brokerClass: 'Redis' };
  return { name, brokerClass: 'Kafka', topic: { partitions: KAFKA_PARTITIONS, replicationFactor: 1 } };
}

export interface ClassSetup {
  /** Environment for `wisp up`. */
  env: Record<string, string>;
  /** One line on where the backend runs. */
  describe: string;
  /** The backend server's pid (for its CPU share), when it runs on this machine and was found. */
  backendPid: number | undefined;
  /** Undoes what the setup made (Redis keys, a local Kafka). Idempotent; returns a line to print, if any. */
  cleanup(): Promise<string | undefined>;
}

const portOf = (hostPort: string): number | undefined => {
  const m = /:(\d+)$/.exec(hostPort);
  return m?.[1] !== undefined ? Number(m[1]) : undefined;
};
const isLocal = (host: string): boolean => /^(127\.|localhost$|\[?::1\]?$)/.test(host);

/** Deletes every key matching `<prefix>:*` (SCAN + DEL); returns how many were deleted. */
export async function deleteRedisKeys(url: string, prefix: string): Promise<number> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 2, enableOfflineQueue: false });
  try {
    await redis.connect();
    let cursor = '0';
    let deleted = 0;
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) deleted += await redis.del(...keys);
    } while (cursor !== '0');
    return deleted;
  } finally {
    redis.disconnect();
  }
}

async function redisSetup(runId: string): Promise<ClassSetup> {
  const url = process.env['WISP_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
  const prefix = `wisp-bench-${runId}`;
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 3_000 });
  let backendPid: number | undefined;
  let version = '?';
  try {
    await redis.connect();
    const info = await redis.info('server');
    version = /redis_version:(\S+)/.exec(info)?.[1] ?? '?';
    const pid = Number(/process_id:(\d+)/.exec(info)?.[1]);
    const u = new URL(url);
    // INFO's process_id is only ours to read when the server runs on this machine.
    if (isLocal(u.hostname) && Number.isInteger(pid)) backendPid = pid;
  } catch (err) {
    throw new Error(`Redis class: cannot reach Redis at ${url} (${err instanceof Error ? err.message : String(err)}); set WISP_REDIS_URL`);
  } finally {
    redis.disconnect();
  }
  let done: Promise<string | undefined> | undefined;
  return {
    env: { WISP_REDIS_URL: url, WISP_REDIS_PREFIX: prefix },
    describe: `Redis ${version} at ${url}, key prefix ${prefix}:`,
    backendPid,
    cleanup: () => (done ??= deleteRedisKeys(url, prefix).then((n) => `deleted ${n} Redis keys under ${prefix}:`)),
  };
}

async function kafkaSetup(log: (m: string) => void): Promise<ClassSetup> {
  const given = process.env['WISP_KAFKA_BROKERS'];
  if (given !== undefined && given.trim() !== '') {
    const first = given.split(',')[0]?.trim() ?? '';
    const port = portOf(first);
    const local = isLocal(first.replace(/:\d+$/, ''));
    return {
      env: { WISP_KAFKA_BROKERS: given },
      describe: `Kafka at ${given} (WISP_KAFKA_BROKERS)`,
      backendPid: local && port !== undefined ? pidListeningOn(port) : undefined,
      cleanup: () => Promise.resolve(undefined),
    };
  }
  const kafka = await startKafka({ log });
  const port = portOf(kafka.brokers);
  let done: Promise<string | undefined> | undefined;
  return {
    env: { WISP_KAFKA_BROKERS: kafka.brokers },
    describe: `local Kafka at ${kafka.brokers} (started for this run, single KRaft node, ${KAFKA_PARTITIONS} partitions, replication 1)`,
    backendPid: port !== undefined ? pidListeningOn(port) : undefined,
    cleanup: () => (done ??= kafka.stop().then(() => `stopped the local Kafka at ${kafka.brokers}`)),
  };
}

/** What `wisp up` needs for `cls`; the caller runs `cleanup()` afterwards (also on errors and signals). */
export async function setupClass(cls: BenchClass, runId: string, log: (m: string) => void): Promise<ClassSetup> {
  if (cls === 'Redis') return redisSetup(runId);
  if (cls === 'Kafka') return kafkaSetup(log);
  return { env: {}, describe: 'in memory, inside wisp up', backendPid: undefined, cleanup: () => Promise.resolve(undefined) };
}
