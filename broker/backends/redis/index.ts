export { RedisBackend, REDIS_BACKEND_DEFAULTS } from './backend.js';
export type { RedisBackendOptions } from './backend.js';
export { redisKeys, queueName, brokerId, DEFAULT_PREFIX } from './keys.js';
export type { RedisKeys } from './keys.js';
export { DEFAULT_REDIS_URL } from './connection.js';
