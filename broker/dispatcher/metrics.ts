import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { countedChild, flushCounted, type Count } from '../counted.js';

export type TriggerLabels = { broker: string; trigger: string };
type Names = 'broker' | 'trigger';

/**
 * One trigger's metric children, resolved once (not per event): label validation and lookup happen when the
 * trigger first delivers. The counters and `inFlight` are plain numbers read at scrape time (../counted.ts).
 */
export interface TriggerMeters {
  readonly labels: TriggerLabels;
  readonly delivered: Count;
  readonly retried: Count;
  readonly deadLettered: Count;
  readonly dropped: Count;
  readonly filtered: Count;
  readonly duration: Histogram.Internal<Names>;
  inFlight: number;
}

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
  readonly #meters = new Map<string, TriggerMeters>();

  constructor(registry: Registry) {
    const meters = this.#meters;
    const registers = [registry];
    const labelNames = ['broker', 'trigger'] as const;
    const counter = (name: string, help: string): Counter<Names> =>
      new Counter({
        name,
        help,
        labelNames,
        registers,
        collect() {
          flushCounted(this);
        },
      });
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
    this.inFlight = new Gauge({
      name: 'wisp_trigger_in_flight',
      help: 'Events being handled (filter, delivery, dead letter) right now, per trigger',
      labelNames,
      registers,
      collect() {
        for (const m of meters.values()) this.set(m.labels, m.inFlight);
      },
    });
  }

  /** The trigger's metric children (created on first use, kept until `forget`). */
  forTrigger(labels: TriggerLabels): TriggerMeters {
    const key = `${labels.broker}\n${labels.trigger}`;
    let m = this.#meters.get(key);
    if (m === undefined) {
      const l = { broker: labels.broker, trigger: labels.trigger };
      m = {
        labels: l,
        delivered: countedChild(this.delivered, key, l),
        retried: countedChild(this.retried, key, l),
        deadLettered: countedChild(this.deadLettered, key, l),
        dropped: countedChild(this.dropped, key, l),
        filtered: countedChild(this.filtered, key, l),
        duration: this.duration.labels(l),
        inFlight: 0,
      };
      this.#meters.set(key, m);
      this.inFlight.set(l, 0);
    }
    return m;
  }

  /** Drops the per-trigger gauge of a removed trigger (counters stay: they are totals). */
  forget(labels: TriggerLabels): void {
    this.#meters.delete(`${labels.broker}\n${labels.trigger}`);
    this.inFlight.remove(labels);
  }
}
