export {
  KafkaBackend,
  DEFAULT_TOPIC_PARTITIONS,
  DEFAULT_REPLICATION_FACTOR,
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_REQUEST_TIMEOUT_MS,
  DEFAULT_KAFKA_CLOSE_TIMEOUT_MS,
  DEFAULT_MAX_QUEUED_PER_PARTITION,
} from './backend.js';
export type { KafkaBackendOptions, KafkaTopicConfig, KafkaBackendHealth } from './backend.js';
export type { KafkaLogger } from './logger.js';
export { brokerTopic, triggerGroupId, encodeEvent, decodeEvent } from './codec.js';
export { OffsetTracker, PartitionOffsets } from './offset-tracker.js';
