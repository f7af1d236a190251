/** Broker and Trigger setup on a running `wisp up`, and the eventing counters from its /metrics. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '../../support/wait.js';
import type { WispUp } from './wisp.js';
import { EVENT_TYPE } from './load.js';

export const NAMESPACE = 'default';
export const BROKER = 'default';

const brokerYaml = `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata:
  name: ${BROKER}
  namespace: ${NAMESPACE}
`;

/** A Trigger with a type filter that every bench event matches, delivering to `uri`. */
export function triggerYaml(name: string, uri: string): string {
  return `apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: ${name}
  namespace: ${NAMESPACE}
spec:
  broker: ${BROKER}
  filter:
    attributes:
      type: ${EVENT_TYPE}
  subscriber:
    uri: ${uri}
`;
}

async function apply(wisp: WispUp, yaml: string): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'wisp-bench-yaml-'));
  try {
    const file = join(dir, 'resource.yaml');
    await writeFile(file, yaml);
    const res = await wisp.cli(['apply', '-f', file]);
    if (res.code !== 0) throw new Error(`wisp apply failed (${res.code}): ${res.stderr}${res.stdout}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function ready(wisp: WispUp, plural: string, name: string): Promise<void> {
  await waitFor(
    async () => {
      const res = await fetch(`${wisp.server}/apis/eventing.knative.dev/v1/namespaces/${NAMESPACE}/${plural}/${name}`, { signal: AbortSignal.timeout(5000) });
      if (res.status !== 200) return false;
      const obj = (await res.json()) as { status?: { conditions?: { type: string; status: string }[] } };
      return obj.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
    },
    { timeoutMs: 30_000, what: `${plural}/${name} Ready` },
  );
}

export async function applyBroker(wisp: WispUp): Promise<void> {
  await apply(wisp, brokerYaml);
  await ready(wisp, 'brokers', BROKER);
}

/** Applies Triggers `bench-<i>` for i in [from, to), each delivering to `<subscriberOrigin>/t<i>`, and waits until all are Ready. */
export async function applyTriggers(wisp: WispUp, subscriberOrigin: string, from: number, to: number): Promise<void> {
  const yaml = Array.from({ length: to - from }, (_, k) => triggerYaml(`bench-${from + k}`, `${subscriberOrigin}/t${from + k}`)).join('---\n');
  await apply(wisp, yaml);
  for (let i = from; i < to; i++) await ready(wisp, 'triggers', `bench-${i}`);
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
export async function counters(wisp: WispUp): Promise<EventingCounters> {
  const text = await (await fetch(`${wisp.server}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
  const sum = (prefix: string): number =>
    text
      .split('\n')
      .filter((l) => l.startsWith(prefix) && (l.includes(`broker="${NAMESPACE}/${BROKER}"`) || l.includes(`trigger="${NAMESPACE}/bench-`)))
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
