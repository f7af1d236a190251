import type { ReplicaTracker } from './breaker.js';

/**
 * Replica choice, as Knative's `pkg/activator/net/lb_policy.go`. Each policy returns a tracker whose
 * breaker has a free slot (without taking it), or undefined when every replica is full.
 */
export interface ReplicaPicker {
  pick(trackers: readonly ReplicaTracker[]): ReplicaTracker | undefined;
}

/** cc 1–3: the first replica with a free slot, so small-cc replicas fill up in order. */
export class FirstAvailable implements ReplicaPicker {
  pick(trackers: readonly ReplicaTracker[]): ReplicaTracker | undefined {
    for (let i = 0; i < trackers.length; i++) {
      const t = trackers[i]!;
      if (t.breaker.hasCapacity()) return t;
    }
    return undefined;
  }
}

/** cc > 3: round robin starting after the last pick, skipping full replicas. */
export class RoundRobin implements ReplicaPicker {
  #last = -1;

  pick(trackers: readonly ReplicaTracker[]): ReplicaTracker | undefined {
    const n = trackers.length;
    if (n === 0) return undefined;
    const start = this.#last + 1;
    for (let i = 0; i < n; i++) {
      const idx = (start + i) % n;
      const t = trackers[idx]!;
      if (t.breaker.hasCapacity()) {
        this.#last = idx;
        return t;
      }
    }
    return undefined;
  }
}

/** cc 0: power of two choices — the less loaded of two distinct random replicas. */
export class PowerOfTwoChoices implements ReplicaPicker {
  constructor(private readonly random: () => number) {}

  pick(trackers: readonly ReplicaTracker[]): ReplicaTracker | undefined {
    const n = trackers.length;
    if (n === 0) return undefined;
    if (n === 1) {
      const only = trackers[0]!;
      return only.breaker.hasCapacity() ? only : undefined;
    }
    const i = randomIndex(this.random, n);
    let j = randomIndex(this.random, n - 1);
    if (j >= i) j++;
    let a = trackers[i]!;
    let b = trackers[j]!;
    if (b.breaker.inFlight < a.breaker.inFlight) [a, b] = [b, a];
    if (a.breaker.hasCapacity()) return a;
    if (b.breaker.hasCapacity()) return b;
    return undefined;
  }
}

function randomIndex(random: () => number, n: number): number {
  const r = Math.floor(random() * n);
  return r >= n ? n - 1 : r < 0 ? 0 : r;
}

/** The policy Knative uses for a given containerConcurrency. */
export function pickerFor(containerConcurrency: number, random: () => number): ReplicaPicker {
  if (containerConcurrency <= 0) return new PowerOfTwoChoices(random);
  if (containerConcurrency <= 3) return new FirstAvailable();
  return new RoundRobin();
}
