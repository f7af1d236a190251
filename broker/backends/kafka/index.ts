export {
  KafkaBackend,
  DEFAULT_TOPIC_PARTITIONS,
  DEFAULT_REPLICATION_FACTOR,
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_REQUEST_TIMEOUT_MS,
  DEFAULT_KAFKA_CLOSE_TIMEOUT_MS,
  DEFAULT_MAX_QUEUED_PER_PARTITION,
  DEFAULT_COMMIT_INTERVAL_MS,
} from './backend.js';
export type { KafkaBackendOptions, KafkaTopicConfig, KafkaBackendHealth } from './backend.js';
export type { KafkaLogger } from './logger.js';
export { brokerTopic, triggerGroupId, encodeEvent, decodeEvent } from './codec.js';
export { OffsetTracker, PartitionOffsets } from './offset-tracker.js';
export {
  ProduceBatcher,
  DEFAULT_MAX_BATCH_RECORDS,
  DEFAULT_MAX_BATCH_BYTES,
  DEFAULT_MAX_IN_FLIGHT_PER_TOPIC,
  DEFAULT_MAX_QUEUED_PER_TOPIC,
} from './produce-batcher.js';
export type { ProduceBatcherOptions, ProduceBatcherStats } from './produce-batcher.js';
