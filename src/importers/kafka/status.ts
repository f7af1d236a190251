/** KafkaSource status as Knative's lifecycle shows it: SinkProvided, Deployed, Ready. Pure: `now` is handed in. */
import type { Condition } from '../../api/types.js';
import { sourceStatus, type DeployState, type SinkState, type SourceStatus } from '../status.js';
import { KAFKA_EVENT_TYPE, kafkaSourceUri } from './event.js';

export type KafkaSourceStatus = SourceStatus;

/** `ceAttributes`: one `dev.knative.kafka.event` source per topic (what wrapped records carry). */
export function kafkaSourceStatus(opts: {
  namespace: string;
  name: string;
  topics: readonly string[];
  generation: number;
  sink: SinkState;
  deploy: DeployState;
  previous: readonly Condition[] | undefined;
  now: number;
}): KafkaSourceStatus {
  const { namespace, name, topics, ...rest } = opts;
  return sourceStatus({ ...rest, ceAttributes: topics.map((t) => ({ type: KAFKA_EVENT_TYPE, source: kafkaSourceUri(namespace, name, t) })) });
}
