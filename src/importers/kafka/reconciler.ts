/**
 * KafkaSources' reconciler: resolves each source's `spec.sink` like a Trigger subscriber, runs one KafkaSourceRunner
 * per resolvable source (restarted, after the old consumer left its group, when what it consumes or where it sends
 * changes), and writes status (`sinkUri`, `ceAttributes`, conditions Ready, SinkProvided, Deployed). The runner's
 * health (Connecting, KafkaUnreachable, TopicsNotFound, SinkUnavailable) is the Deployed condition.
 * The watch/queue/sink/status skeleton is SourceReconciler's; this file says what a KafkaSource runs.
 */
import { bootstrapServerList, DEFAULT_KAFKA_INITIAL_OFFSET, type KafkaSourceSpecShape } from '../../api/kafkasource.js';
import type { KObject } from '../../api/types.js';
import { kindNamed, SourceReconciler, type SendingSourceOptions, type SourcePlan } from '../source-reconciler.js';
import { defaultConsumerGroup } from './event.js';
import { KafkaSourceRunner, type KafkaRunSpec, type KafkaSourceDeliveryPolicy, type KafkaSourceOutcome } from './runner.js';
import { kafkaSourceStatus } from './status.js';

export interface KafkaSourcesReconcilerOptions extends SendingSourceOptions<KafkaSourceDeliveryPolicy, KafkaSourceOutcome> {
  /** kafkajs's own log lines. */
  debug?: (msg: string) => void;
}

const KAFKASOURCES = kindNamed('kafkasources.sources.knative.dev');

const specOf = (source: KObject): KafkaSourceSpecShape => (source.spec ?? {}) as KafkaSourceSpecShape;

/** What a KafkaSource runs (group and initial offset defaulted), or why it cannot. */
export function planKafkaSource(source: KObject, sinkUri: string): SourcePlan<KafkaRunSpec> {
  const spec = specOf(source);
  const { namespace, name } = source.metadata;
  const topics = spec.topics ?? [];
  const servers = bootstrapServerList(spec.bootstrapServers);
  if (topics.length === 0) return { problem: { reason: 'NoTopics', message: 'spec.topics is empty' } };
  if (servers.length === 0) return { problem: { reason: 'NoBootstrapServers', message: 'spec.bootstrapServers is empty' } };
  const group = spec.consumerGroup?.trim();
  return {
    runSpec: {
      namespace,
      name,
      bootstrapServers: servers,
      topics: [...topics],
      consumerGroup: group !== undefined && group !== '' ? group : defaultConsumerGroup(namespace, name),
      initialOffset: spec.initialOffset === 'earliest' ? 'earliest' : DEFAULT_KAFKA_INITIAL_OFFSET,
      sinkUri,
      ...(spec.ceOverrides?.extensions !== undefined ? { extensions: spec.ceOverrides.extensions } : {}),
    },
  };
}

export class KafkaSourcesReconciler extends SourceReconciler<KafkaRunSpec, KafkaSourceRunner> {
  constructor(options: KafkaSourcesReconcilerOptions) {
    const o = options;
    super({
      store: o.store,
      clock: o.clock,
      ...(o.onError !== undefined ? { onError: o.onError } : {}),
      ...(o.coreServices !== undefined ? { coreServices: o.coreServices } : {}),
      source: {
        kind: KAFKASOURCES,
        label: 'kafkasource',
        waitingForSink: 'The consumer starts once the sink resolves.',
        plan: planKafkaSource,
        createRunner: (key, spec, requeue) => {
          const onOutcome = o.onOutcome;
          return new KafkaSourceRunner({
            spec,
            clock: o.clock,
            sender: o.sender,
            requeue,
            ...(o.delivery !== undefined ? { delivery: o.delivery } : {}),
            ...(o.debug !== undefined ? { debug: o.debug } : {}),
            ...(onOutcome !== undefined ? { onOutcome: (out: KafkaSourceOutcome) => onOutcome(key, out) } : {}),
            onError: (err) => o.onError?.(`kafkasource ${key}`, err),
          });
        },
        status: (source, state) =>
          kafkaSourceStatus({
            namespace: source.metadata.namespace,
            name: source.metadata.name,
            topics: specOf(source).topics ?? [],
            generation: source.metadata.generation ?? 1,
            ...state,
          }),
      },
    });
  }
}
