import type { EventBackend } from '../types.js';

export { MemoryBackend, DEFAULT_MAX_QUEUED, DEFAULT_CLOSE_TIMEOUT_MS, DEFAULT_PACING } from './memory.js';
export type { MemoryBackendOptions, MemoryPacing, MemorySubscriptionStats } from './memory.js';
export { KafkaBackend, DEFAULT_TOPIC_PARTITIONS, DEFAULT_REPLICATION_FACTOR } from './kafka/index.js';
export type { KafkaBackendOptions, KafkaTopicConfig, KafkaBackendHealth } from './kafka/index.js';
export { RedisBackend, REDIS_BACKEND_DEFAULTS, DEFAULT_REDIS_URL, redisKeys, queueName } from './redis/index.js';
export type { RedisBackendOptions, RedisKeys } from './redis/index.js';

/** The backend serving a broker class (`eventing.knative.dev/broker.class`), or undefined if none does. */
export function backendForClass(backends: readonly EventBackend[], cls: string): EventBackend | undefined {
  return backends.find((b) => b.classes.includes(cls));
}
