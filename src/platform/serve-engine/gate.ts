/**
 * The scaler the autoscaler gets with the serve engine: a scale-down of a revision haproxy serves first points the
 * revision's hosts at the activator and waits until haproxy has applied that, then asks the runtime. The runtime
 * picks its victims inside scale() and signals them at once, so this is the one order that keeps haproxy from
 * sending a request to a replica that is already stopping (Knative: the SKS goes to proxy mode before scaling to
 * zero). Scale calls of one revision run in the order they were made; a scale-up with nothing pending goes through at
 * once (a cold start waits for nothing).
 */
import type { WorkloadScaler } from '../../runtime/types.js';

export interface GateEngine {
  /** haproxy serves the revision, or is about to. */
  serving(key: string): boolean;
  /** Keeps the revision on the activator; resolves (bounded) once haproxy has applied it, with the release. */
  holdProxy(key: string, replicas: number): Promise<() => void>;
  readonly closed: boolean;
}

export class ScaleGate implements WorkloadScaler {
  readonly #scaler: WorkloadScaler;
  readonly #engine: GateEngine;
  readonly #last = new Map<string, number>();
  readonly #chains = new Map<string, Promise<void>>();

  constructor(scaler: WorkloadScaler, engine: GateEngine) {
    this.#scaler = scaler;
    this.#engine = engine;
  }

  scale(key: string, replicas: number): void {
    const prev = this.#last.get(key);
    this.#last.set(key, replicas);
    const pending = this.#chains.get(key);
    const down = prev !== undefined && replicas < prev;
    if (pending === undefined && (!down || this.#engine.closed || !this.#engine.serving(key))) {
      this.#scaler.scale(key, replicas);
      return;
    }
    const run = async (): Promise<void> => {
      if (!down || this.#engine.closed) return this.#scaler.scale(key, replicas);
      const release = await this.#engine.holdProxy(key, replicas);
      try {
        this.#scaler.scale(key, replicas);
      } finally {
        release();
      }
    };
    const chain = (pending ?? Promise.resolve()).then(run, run);
    this.#chains.set(key, chain);
    void chain.finally(() => {
      if (this.#chains.get(key) === chain) this.#chains.delete(key);
    });
  }

  /** The revision is gone: forget its last count. */
  forget(key: string): void {
    this.#last.delete(key);
  }
}
