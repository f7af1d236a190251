/** Broker and Trigger setup on a running `wisp up`, and the eventing counters from its /metrics. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '../../support/wait.js';
import type { WispUp } from './wisp.js';
import { EVENT_TYPE } from './load.js';

export const NAMESPACE = 'default';

/** What the bench's Broker is made of: its name, its `eventing.knative.dev/broker.class`, and topic settings. */
export interface BenchBroker {
  name: string;
  /** The annotation's value: MTChannelBasedBroker (memory), Redis or Kafka. */
  brokerClass: string;
  /** Kafka topic settings, put in a ConfigMap that the Broker's spec.config names. */
  topic?: { partitions: number; replicationFactor: number };
}

/** The Broker (and the ConfigMap of its topic settings, when given) as YAML. */
export function brokerYaml(b: BenchBroker): string {
  const config = b.topic
    ? `apiVersion: v1
kind: ConfigMap
metadata:
  name: ${b.name}-config
  namespace: ${NAMESPACE}
data:
  default.topic.partitions: "${b.topic.partitions}"
  default.topic.replication.factor: "${b.topic.replicationFactor}"
---
`
    : '';
  return `${config}apiVersion: eventing.knative.dev/v1
kind: Broker
metadata:
  name: ${b.name}
  namespace: ${NAMESPACE}
  annotations:
    eventing.knative.dev/broker.class: ${b.brokerClass}
${b.topic ? `spec:
  config: {apiVersion: v1, kind: ConfigMap, name: ${b.name}-config}
` : ''}`;
}

/** The bench Trigger names of a broker: `<broker>-t<i>`. */
export const triggerName = (broker: string, i: number): string => `${broker}-t${i}`;

/** A Trigger with a type filter that every bench event matches, delivering to `uri`. */
export function triggerYaml(name: string, broker: string, uri: string): string {
  return `apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: ${name}
  namespace: ${NAMESPACE}
spec:
  broker: ${broker}
  filter:
    attributes:
      type: ${EVENT_TYPE}
  subscriber:
    uri: ${uri}
`;
}

async function cliWithFile(wisp: WispUp, verb: 'apply' | 'delete', yaml: string): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'wisp-bench-yaml-'));
  try {
    const file = join(dir, 'resource.yaml');
    await writeFile(file, yaml);
    const res = await wisp.cli([verb, '-f', file]);
    if (res.code !== 0) throw new Error(`wisp ${verb} failed (${res.code}): ${res.stderr}${res.stdout}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function ready(wisp: WispUp, plural: string, name: string): Promise<void> {
  await waitFor(
    async () => {
      const res = await wisp.fetch(`/apis/eventing.knative.dev/v1/namespaces/${NAMESPACE}/${plural}/${name}`, { signal: AbortSignal.timeout(5000) });
      if (res.status !== 200) return false;
      const obj = (await res.json()) as { status?: { conditions?: { type: string; status: string }[] } };
      return obj.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
    },
    { timeoutMs: 30_000, what: `${plural}/${name} Ready` },
  );
}

export async function applyBroker(wisp: WispUp, broker: BenchBroker): Promise<void> {
  await cliWithFile(wisp, 'apply', brokerYaml(broker));
  await ready(wisp, 'brokers', broker.name);
}

function triggersYaml(broker: string, subscriberOrigin: string, from: number, to: number): string {
  return Array.from({ length: to - from }, (_, k) => triggerYaml(triggerName(broker, from + k), broker, `${subscriberOrigin}/t${from + k}`)).join('---\n');
}

/** Applies Triggers `<broker>-t<i>` for i in [from, to), each delivering to `<subscriberOrigin>/t<i>`, and waits until all are Ready. */
export async function applyTriggers(wisp: WispUp, broker: string, subscriberOrigin: string, from: number, to: number): Promise<void> {
  await cliWithFile(wisp, 'apply', triggersYaml(broker, subscriberOrigin, from, to));
  for (let i = from; i < to; i++) await ready(wisp, 'triggers', triggerName(broker, i));
}

/** Deletes Triggers [0, triggers) and the Broker (with its ConfigMap), so a durable backend drops their queues, topics and groups. */
export async function deleteBench(wisp: WispUp, broker: BenchBroker, triggers: number, subscriberOrigin: string): Promise<void> {
  if (triggers > 0) await cliWithFile(wisp, 'delete', triggersYaml(broker.name, subscriberOrigin, 0, triggers));
  await cliWithFile(wisp, 'delete', brokerYaml(broker));
}

export interface EventingCounters {
  accepted: number;
  rejected: number;
  delivered: number;
  retried: number;
  deadLettered: number;
  dropped: number;
}

/** Sums Wisp's broker/trigger counters (for the bench broker and its Triggers) from the Prometheus text. */
export async function counters(wisp: WispUp, broker: string): Promise<EventingCounters> {
  const text = await (await wisp.fetch(`/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
  const sum = (prefix: string): number =>
    text
      .split('\n')
      .filter((l) => l.startsWith(prefix) && (l.includes(`broker="${NAMESPACE}/${broker}"`) || l.includes(`trigger="${NAMESPACE}/${broker}-t`)))
      .reduce((acc, l) => acc + Number(l.split(' ').at(-1)), 0);
  return {
    accepted: sum('wisp_broker_events_accepted_total'),
    rejected: sum('wisp_broker_events_rejected_total'),
    delivered: sum('wisp_trigger_events_delivered_total'),
    retried: sum('wisp_trigger_events_retried_total'),
    deadLettered: sum('wisp_trigger_events_dead_lettered_total'),
    dropped: sum('wisp_trigger_events_dropped_total'),
  };
}

export function diff(after: EventingCounters, before: EventingCounters): EventingCounters {
  return {
    accepted: after.accepted - before.accepted,
    rejected: after.rejected - before.rejected,
    delivered: after.delivered - before.delivered,
    retried: after.retried - before.retried,
    deadLettered: after.deadLettered - before.deadLettered,
    dropped: after.dropped - before.dropped,
  };
}
