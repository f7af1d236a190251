import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Live per-revision numbers the gauges read at scrape time (no cost on the request path). */
export interface ActivatorGaugeSource {
  revisions(): Iterable<string>;
  queued(key: string): number;
  inFlight(key: string): number;
  readyReplicas(key: string): number;
}

type CounterChild = ReturnType<Counter<'revision' | 'code'>['labels']>;
type HistogramChild = ReturnType<Histogram<'revision'>['labels']>;

/** The activator's Prometheus metrics, registered on an injected Registry (never the global one). */
export class ActivatorMetrics {
  readonly requests: Counter<'revision' | 'code'>;
  readonly latency: Histogram<'revision'>;
  readonly coldStartWait: Histogram<'revision'>;
  readonly queueDepth: Gauge<'revision'>;
  readonly inFlight: Gauge<'revision'>;
  readonly readyReplicas: Gauge<'revision'>;
  /** Per revision: its latency child and its counter children by status code, so a request costs one Map lookup. */
  readonly #children = new Map<string, RevisionChildren>();

  constructor(registry: Registry, source: ActivatorGaugeSource) {
    const registers = [registry];
    this.requests = new Counter({
      name: 'wisp_activator_requests_total',
      help: 'Requests answered by the activator, by revision and HTTP status code',
      labelNames: ['revision', 'code'],
      registers,
    });
    this.latency = new Histogram({
      name: 'wisp_activator_request_duration_seconds',
      help: 'Time from request arrival to the end of the response, per revision',
      labelNames: ['revision'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers,
    });
    this.coldStartWait = new Histogram({
      name: 'wisp_activator_cold_start_wait_seconds',
      help: 'Time requests waited for a revision with no ready replica to get one',
      labelNames: ['revision'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300],
      registers,
    });
    const gauge = (name: string, help: string, read: (key: string) => number): Gauge<'revision'> =>
      new Gauge({
        name,
        help,
        labelNames: ['revision'],
        registers,
        collect(this: Gauge<'revision'>) {
          this.reset();
          for (const key of source.revisions()) this.set({ revision: key }, read(key));
        },
      });
    this.queueDepth = gauge('wisp_activator_queue_depth', 'Requests waiting for a replica, per revision', (k) => source.queued(k));
    this.inFlight = gauge('wisp_activator_in_flight', 'Requests proxied to replicas and not finished, per revision', (k) => source.inFlight(k));
    this.readyReplicas = gauge('wisp_activator_ready_replicas', 'Ready replicas the activator balances over, per revision', (k) => source.readyReplicas(k));
  }

  /** Counts one answered request; `revision` is '' when no revision was resolved (404). */
  observeRequest(revision: string, code: number, seconds: number): void {
    let children = this.#children.get(revision);
    if (children === undefined) {
      children = { byCode: [], latency: revision === '' ? undefined : this.latency.labels(revision) };
      this.#children.set(revision, children);
    }
    let c = children.byCode[code];
    if (c === undefined) {
      c = this.requests.labels(revision, String(code));
      children.byCode[code] = c;
    }
    c.inc();
    children.latency?.observe(seconds);
  }

  observeColdStart(revision: string, waitedMs: number): void {
    this.coldStartWait.labels(revision).observe(waitedMs / 1000);
  }

  /** Drops cached label children of a removed revision. */
  forget(revision: string): void {
    this.#children.delete(revision);
  }
}

interface RevisionChildren {
  /** Indexed by HTTP status code (a sparse array: a handful of codes per revision). */
  byCode: CounterChild[];
  latency: HistogramChild | undefined;
}
