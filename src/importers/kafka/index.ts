/** Public surface of the KafkaSource importer: reconciler, runner, pure record mapping, status and errors. */
export { KafkaSourcesReconciler, planKafkaSource } from './reconciler.js';
export type { KafkaSourcesReconcilerOptions } from './reconciler.js';
export { KafkaSourceRunner, DEFAULT_KAFKA_SOURCE_DELIVERY } from './runner.js';
export type { KafkaRunSpec, KafkaSourceDeliveryPolicy, KafkaSourceOutcome, KafkaSourceRunnerOptions } from './runner.js';
export { recordToEvent, passthroughEvent, wrappedEvent, headerExtensionName, kafkaSourceUri, defaultConsumerGroup, KAFKA_EVENT_TYPE } from './event.js';
export type { KafkaRecord, KafkaEventSpec } from './event.js';
export { PartitionWork } from './partitions.js';
export type { Taken, TopicPartition } from './partitions.js';
export { kafkaSourceStatus } from './status.js';
export type { KafkaSourceStatus } from './status.js';
export { KAFKA_SOURCE_ERROR_CODES, KafkaUnreachableError, TopicsNotFoundError } from './errors.js';
export type { KafkaSourceErrorCode } from './errors.js';
