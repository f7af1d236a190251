import { Gauge, type Registry } from 'prom-client';
import type { RevisionRuntimeStatus } from '../runtime/types.js';

/**
 * Replica and autoscaler gauges per revision (the activator registers its own request metrics). Every Wisp metric
 * labels a revision the same way: `revision="<namespace>/<name>"`.
 */
export class PlatformMetrics {
  readonly #actual: Gauge<'revision'>;
  readonly #desired: Gauge<'revision'>;
  readonly #panic: Gauge<'revision'>;
  readonly #stable: Gauge<'revision'>;

  constructor(registry: Registry) {
    const labelNames = ['revision'] as const;
    this.#actual = new Gauge({ name: 'wisp_revision_actual_replicas', help: 'Ready replicas per revision', labelNames, registers: [registry] });
    this.#desired = new Gauge({ name: 'wisp_revision_desired_replicas', help: 'Replicas the autoscaler wants per revision', labelNames, registers: [registry] });
    this.#panic = new Gauge({ name: 'wisp_autoscaler_panic_mode', help: '1 while the revision is in panic mode', labelNames, registers: [registry] });
    this.#stable = new Gauge({ name: 'wisp_autoscaler_stable_concurrency', help: 'Average concurrency over the stable window', labelNames, registers: [registry] });
  }

  replicas(key: string, status: RevisionRuntimeStatus): void {
    const labels = { revision: key };
    this.#actual.set(labels, status.ready.length);
    this.#desired.set(labels, status.desired);
  }

  decision(key: string, d: { desiredScale?: number; panicking?: boolean; stableConcurrency?: number }): void {
    const labels = { revision: key };
    if (d.panicking !== undefined) this.#panic.set(labels, d.panicking ? 1 : 0);
    if (d.stableConcurrency !== undefined) this.#stable.set(labels, d.stableConcurrency);
  }
}
