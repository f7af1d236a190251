import type { ReplicaEndpoint, RevisionFailure } from '../src/runtime/types.js';

/** One target of a route: a revision key (`<ns>/<revision>`) and its share of traffic. */
export interface RouteTarget {
  revision: string;
  percent: number;
}

/** What a Host resolves to. A tag host has a single target at 100 %. */
export interface RouteEntry {
  namespace: string;
  service: string;
  targets: RouteTarget[];
}

/**
 * The routing snapshot the control plane publishes. The data path only reads it; it is replaced whole.
 * `hosts` keys are lower-case host names without port: `hello.default.localhost`, `hello.default`,
 * `canary-hello.default.localhost`, `canary-hello.default`.
 */
export interface RoutingSnapshot {
  hosts: ReadonlyMap<string, RouteEntry>;
}

/** Per-revision settings and live state the activator needs, pushed by the platform. */
export interface RevisionState {
  key: string;
  namespace: string;
  service: string;
  revision: string;
  /** 0 = unlimited. */
  containerConcurrency: number;
  timeoutSeconds: number;
  /** Ready replicas to balance over. */
  endpoints: ReplicaEndpoint[];
  /** Set while the revision cannot start: waiting requests fail fast with 503 and this reason. */
  failure?: RevisionFailure;
}

/** The narrow interface the activator uses to talk to the autoscaler. */
export interface ConcurrencyReporter {
  /** Time-weighted average concurrency over the last reporting interval (1 s), per revision. */
  report(key: string, concurrency: number, now: number): void;
  /** After each round of report() calls (one per revision, every second): a reporter that batches sends now. */
  flush?(): void;
  /** The first request to a revision at zero: scale it up now instead of waiting for a tick. */
  poke(key: string): void;
}
