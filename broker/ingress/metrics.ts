import { Counter, Gauge, Histogram, type LabelValues, type Registry } from 'prom-client';
import type { TriggerBacklog } from '../types.js';
import { countedChild, flushCounted, type Count } from '../counted.js';

/** Why the ingress turned a request away (label `reason`). */
export type RejectReason =
  | 'invalid'
  | 'unsupported_media_type'
  | 'too_large'
  | 'not_found'
  | 'method_not_allowed'
  /** A Trigger's backlog is at its limit (503, Retry-After). */
  | 'backlog_full'
  /** A batch larger than the broker can ever take at once (413). */
  | 'batch_too_large'
  /** The backend cannot store right now: closing, store unreachable, Kafka produce queue full (503, Retry-After). */
  | 'unavailable'
  | 'internal';

/**
 * The broker ingress's Prometheus metrics on an injected Registry (never the global one). Registering twice
 * on one registry (two ingresses in one process) reuses the existing metrics.
 */
export class IngressMetrics {
  readonly accepted: Counter<'broker'>;
  readonly rejected: Counter<'broker' | 'reason'>;
  readonly latency: Histogram<'broker'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.accepted = reuse(registry, 'wisp_broker_events_accepted_total', (name) => new Counter({
      name,
      help: 'CloudEvents stored by the broker ingress (a batch counts each event), per broker (<namespace>/<name>)',
      labelNames: ['broker'],
      registers,
      collect() {
        flushCounted(this);
      },
    }));
    this.rejected = reuse(registry, 'wisp_broker_events_rejected_total', (name) => new Counter({
      name,
      help: 'Requests the broker ingress rejected, per broker and reason (invalid, unsupported_media_type, too_large, not_found, method_not_allowed, backlog_full, batch_too_large, unavailable, internal)',
      labelNames: ['broker', 'reason'],
      registers,
    }));
    this.latency = reuse(registry, 'wisp_broker_ingress_request_duration_seconds', (name) => new Histogram({
      name,
      help: 'Time from request arrival to the end of the response at the broker ingress, per broker',
      labelNames: ['broker'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }));
  }

  /** Per-broker children, looked up once: labelling on every request costs a hash of the labels each time. */
  readonly #perBroker = new Map<string, { accepted: Count; latency: Histogram.Internal<'broker'> }>();

  #of(broker: string): { accepted: Count; latency: Histogram.Internal<'broker'> } {
    let m = this.#perBroker.get(broker);
    if (m === undefined) {
      const labels: LabelValues<'broker'> = { broker };
      m = { accepted: countedChild(this.accepted, broker, labels), latency: this.latency.labels(labels) };
      this.#perBroker.set(broker, m);
    }
    return m;
  }

  /** `n` events of `broker` stored. */
  accept(broker: string, n: number): void {
    this.#of(broker).accepted.inc(n);
  }

  /** One request to `broker` answered after `seconds`. */
  observe(broker: string, seconds: number): void {
    this.#of(broker).latency.observe(seconds);
  }
}

/**
 * Backlog per Trigger of the classes that cap it (Memory, Redis), read at scrape time from `snapshot` (the eventing
 * reconciler's last poll, every 2 s): `wisp_broker_backlog_events` (events waiting) and `wisp_broker_backlog_limit`
 * (the cap past which the ingress answers 503; rejections are `wisp_broker_events_rejected_total{reason="backlog_full"}`).
 */
export class BacklogMetrics {
  readonly events: Gauge<'broker' | 'trigger'>;
  readonly limit: Gauge<'broker' | 'trigger'>;

  constructor(registry: Registry, snapshot: () => readonly TriggerBacklog[]) {
    const registers = [registry];
    const fill = (gauge: Gauge<'broker' | 'trigger'>, value: (b: TriggerBacklog) => number): void => {
      gauge.reset();
      for (const b of snapshot()) gauge.set({ broker: b.broker, trigger: b.trigger }, value(b));
    };
    this.events = reuse(registry, 'wisp_broker_backlog_events', (name) => new Gauge({
      name,
      help: 'Events waiting per Trigger (Memory and Redis broker classes; Redis: counted in Redis, across processes), per broker and trigger (<namespace>/<name>)',
      labelNames: ['broker', 'trigger'],
      registers,
      collect() {
        fill(this, (b) => b.events);
      },
    }));
    this.limit = reuse(registry, 'wisp_broker_backlog_limit', (name) => new Gauge({
      name,
      help: 'Backlog limit per Trigger (wisp.dev/max-backlog or the platform default): past it the ingress answers 503 with Retry-After',
      labelNames: ['broker', 'trigger'],
      registers,
      collect() {
        fill(this, (b) => b.limit);
      },
    }));
  }
}

function reuse<M>(registry: Registry, name: string, create: (name: string) => M): M {
  return (registry.getSingleMetric(name) as M | undefined) ?? create(name);
}
