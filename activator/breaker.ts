import type { ReplicaEndpoint } from '../src/runtime/types.js';

/**
 * A per-replica breaker: at most `capacity` requests in flight (0 = unlimited), as Knative's
 * `pkg/queue/breaker.go` semaphore. Pure: no I/O, no clock. The per-revision queue lives in the throttler.
 */
export class Breaker {
  #capacity: number;
  #inFlight = 0;

  constructor(capacity: number) {
    this.#capacity = normaliseCapacity(capacity);
  }

  get capacity(): number {
    return this.#capacity;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  hasCapacity(): boolean {
    return this.#capacity === 0 || this.#inFlight < this.#capacity;
  }

  /** Takes a slot if one is free. */
  tryAcquire(): boolean {
    if (this.#capacity !== 0 && this.#inFlight >= this.#capacity) return false;
    this.#inFlight++;
    return true;
  }

  release(): void {
    if (this.#inFlight > 0) this.#inFlight--;
  }

  /** Changes capacity; requests already in flight keep their slots. */
  setCapacity(capacity: number): void {
    this.#capacity = normaliseCapacity(capacity);
  }
}

function normaliseCapacity(capacity: number): number {
  return Number.isFinite(capacity) && capacity > 0 ? Math.floor(capacity) : 0;
}

/** One ready replica of a revision and its breaker. */
export class ReplicaTracker {
  readonly breaker: Breaker;
  /** False once the replica left the endpoint set; in-flight requests still release into it. */
  live = true;

  constructor(readonly endpoint: ReplicaEndpoint, capacity: number) {
    this.breaker = new Breaker(capacity);
  }
}
