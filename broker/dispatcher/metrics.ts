import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export type TriggerLabels = { broker: string; trigger: string };
type Names = 'broker' | 'trigger';

/**
 * The dispatcher's Prometheus metrics on an injected Registry, labelled `broker="<ns>/<name>"` and
 * `trigger="<ns>/<name>"`. For every trigger, events handled to the end =
 * filtered + delivered + dead_lettered + dropped; `retried` counts scheduled retries (not outcomes).
 * The duration histogram observes each HTTP attempt to the subscriber (retries are scheduled by the
 * backend, which may run them in another process, so "first attempt to outcome" is not measurable here).
 */
export class DispatcherMetrics {
  readonly delivered: Counter<Names>;
  readonly retried: Counter<Names>;
  readonly deadLettered: Counter<Names>;
  readonly dropped: Counter<Names>;
  readonly filtered: Counter<Names>;
  readonly duration: Histogram<Names>;
  readonly inFlight: Gauge<Names>;

  constructor(registry: Registry) {
    const registers = [registry];
    const labelNames = ['broker', 'trigger'] as const;
    const counter = (name: string, help: string): Counter<Names> => new Counter({ name, help, labelNames, registers });
    this.delivered = counter('wisp_trigger_events_delivered_total', 'Events the subscriber accepted (2xx), per trigger');
    this.retried = counter('wisp_trigger_events_retried_total', 'Retries scheduled after a retryable failure, per trigger');
    this.deadLettered = counter('wisp_trigger_events_dead_lettered_total', 'Events the dead-letter sink accepted after delivery failed, per trigger');
    this.dropped = counter('wisp_trigger_events_dropped_total', 'Events given up on without a dead-letter sink (or with a failing one), per trigger');
    this.filtered = counter('wisp_trigger_events_filtered_total', "Events that did not match the trigger's filter, per trigger");
    this.duration = new Histogram({
      name: 'wisp_trigger_delivery_duration_seconds',
      help: 'Duration of each HTTP delivery attempt to the subscriber, per trigger',
      labelNames,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.inFlight = new Gauge({ name: 'wisp_trigger_in_flight', help: 'Events being handled (filter, delivery, dead letter) right now, per trigger', labelNames, registers });
  }

  /** Drops the per-trigger gauge of a removed trigger (counters stay: they are totals). */
  forget(labels: TriggerLabels): void {
    this.inFlight.remove(labels);
  }
}
