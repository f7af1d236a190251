/**
 * Importers' Prometheus metrics on an injected Registry: what became of each event a source sent itself (Knative's
 * sources report an event count by result too). ContainerSource and SinkBinding workloads send their own events,
 * so they are not counted here.
 */
import { Counter, type Registry } from 'prom-client';

/** The source kinds whose runners send events. */
export type SendingSourceKind = 'PingSource' | 'ApiServerSource' | 'KafkaSource';

export class SourceMetrics {
  readonly #events: Counter<'kind' | 'source' | 'result'>;

  constructor(registry: Registry) {
    this.#events = new Counter({
      name: 'wisp_source_events_total',
      help: 'Events sources sent to their sinks, per source kind, source (<namespace>/<name>) and result (delivered, failed, retrying, skipped, dropped)',
      labelNames: ['kind', 'source', 'result'],
      registers: [registry],
    });
  }

  /** One event of `kind` source `key` ended as `result` (an outcome's `kind`). */
  outcome(kind: SendingSourceKind, key: string, result: string): void {
    this.#events.inc({ kind, source: key, result });
  }
}
