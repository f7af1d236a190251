/** Typed errors of the KafkaSource importer. Reported through `onError` and status; never HTTP statuses here. */
import { WispError } from '../../errors.js';

export const KAFKA_SOURCE_ERROR_CODES = Object.freeze({
  WISP_ERR_KAFKA_SOURCE_UNREACHABLE: 'A KafkaSource cannot reach its bootstrap servers (or lost them); it keeps retrying in the background.',
  WISP_ERR_KAFKA_SOURCE_TOPICS: 'Topics a KafkaSource consumes do not exist in the cluster; it checks again in the background.',
} as const);

export type KafkaSourceErrorCode = keyof typeof KAFKA_SOURCE_ERROR_CODES;

/** The cluster could not be reached (connect, metadata or group join failed). Status reason `KafkaUnreachable`. */
export class KafkaUnreachableError extends WispError<'WISP_ERR_KAFKA_SOURCE_UNREACHABLE'> {
  readonly code = 'WISP_ERR_KAFKA_SOURCE_UNREACHABLE';
  readonly statusCode = 503;
  readonly retriable = true;
  readonly source: string;

  constructor(opts: { source: string; servers: readonly string[]; why: string; cause?: unknown }) {
    super(`${opts.source}: cannot reach Kafka at ${opts.servers.join(',')}: ${opts.why}`, { cause: opts.cause });
    this.source = opts.source;
  }
}

/** Some of the source's topics do not exist. Status reason `TopicsNotFound`. */
export class TopicsNotFoundError extends WispError<'WISP_ERR_KAFKA_SOURCE_TOPICS'> {
  readonly code = 'WISP_ERR_KAFKA_SOURCE_TOPICS';
  readonly statusCode = 404;
  readonly retriable = true;
  readonly topics: readonly string[];

  constructor(opts: { source: string; topics: readonly string[] }) {
    super(`${opts.source}: topic(s) not found in the cluster: ${opts.topics.join(', ')}`);
    this.topics = opts.topics;
  }
}
