import type { ReplicaEndpoint } from '../src/runtime/types.js';

/** This activator's place among the activators of a split install: index in 0..count-1, or -1 while unknown. */
export interface ActivatorShare {
  index: number;
  count: number;
}

export const SOLE_ACTIVATOR: ActivatorShare = Object.freeze({ index: -1, count: 1 });

/**
 * The replicas this activator sends a revision's requests to (pure), as Knative's activator subsetting assigns them:
 * with several activators in front of a revision with a concurrency limit, each takes the replicas whose place in
 * the address-sorted list is its index modulo the count, so that a replica's `containerConcurrency` is not filled by
 * every activator at once. Every replica is used when the share is unknown, when this is the only activator, when the
 * revision has no limit (nothing to protect), and when there are fewer replicas than activators (each activator then
 * uses them all: a replica may then get up to one limit per activator until it scales, as in Knative).
 */
export function assignedEndpoints(endpoints: readonly ReplicaEndpoint[], containerConcurrency: number, share: ActivatorShare): readonly ReplicaEndpoint[] {
  if (containerConcurrency <= 0 || share.count <= 1 || share.index < 0 || share.index >= share.count || endpoints.length < share.count) return endpoints;
  const sorted = [...endpoints].sort((a, b) => compareAddress(a, b));
  return sorted.filter((_, i) => i % share.count === share.index);
}

function compareAddress(a: ReplicaEndpoint, b: ReplicaEndpoint): number {
  return a.host < b.host ? -1 : a.host > b.host ? 1 : a.port - b.port;
}

/** The share of `self` among the activators that report to the autoscaler (their names, in any order). */
export function shareOf(self: string, activators: readonly string[]): ActivatorShare {
  const sorted = [...new Set(activators)].sort();
  const index = sorted.indexOf(self);
  return index < 0 ? SOLE_ACTIVATOR : { index, count: sorted.length };
}
