/**
 * What each data-plane worker (workers.ts) is given of a revision: its share of the revision's
 * `containerConcurrency`, so that the workers together never send a replica more than its limit. Pure.
 *
 * - No limit (cc 0) or one worker: every worker uses every replica, as one activator does.
 * - At least as many ready replicas as workers: Knative's activator subsetting (activator/subset.ts): each replica is
 *   assigned to exactly one worker, which may fill it to the whole limit.
 * - Fewer replicas than workers (0 included, a revision coming up from zero): Knative's throttler then splits the
 *   capacity per activator rather than per replica. Here every worker uses every replica with a limit of
 *   floor(cc / N), the first cc mod N workers one more: the limits of a replica add up to exactly cc.
 * - When that leaves a worker a limit of 0 (cc < N, e.g. cc 1 with 2 workers), the worker forwards the revision's
 *   requests to worker 0 (whose limit is never 0) over its private listener, as if worker 0 were the revision's only
 *   replica with no limit: worker 0 throttles them against the real replicas, buffers them while the revision is at
 *   zero and pokes the autoscaler. Worker 0 routes a forwarded request again by its Host, so a worker forwards every
 *   revision that shares a route with a forwarded one (the closure over routes): the traffic split is then drawn on
 *   worker 0 alone, exactly. A forwarding worker does not report those revisions' concurrency: worker 0 does.
 */
import { assignedEndpoints } from '../../activator/index.js';
import type { RevisionState, RoutingSnapshot } from '../../activator/index.js';

export interface WorkerShare {
  /** 0..count-1 */
  index: number;
  count: number;
}

/** A worker's view of a revision: the state its activator gets, and whether it forwards the revision to worker 0. */
export interface WorkerRevision {
  state: RevisionState;
  forwarded: boolean;
}

/** The per-worker limit on each replica when there are fewer replicas than workers (cc > 0). */
export function sharedLimit(containerConcurrency: number, share: WorkerShare): number {
  const cc = Math.floor(containerConcurrency);
  return Math.floor(cc / share.count) + (share.index < cc % share.count ? 1 : 0);
}

/** The state a worker's activator gets for a revision it serves itself (not forwarded); limit 0: it must forward. */
export function ownState(state: RevisionState, share: WorkerShare): RevisionState {
  const cc = state.containerConcurrency > 0 ? Math.floor(state.containerConcurrency) : 0;
  if (cc === 0 || share.count <= 1) return state;
  if (state.endpoints.length >= share.count) {
    return { ...state, endpoints: [...assignedEndpoints(state.endpoints, cc, { index: share.index, count: share.count })] };
  }
  return { ...state, containerConcurrency: sharedLimit(cc, share) };
}

/** Revisions that share a route (a Host's targets) with each other, as connected sets: key → the keys of its set. */
export function routeClosures(snapshot: RoutingSnapshot): Map<string, ReadonlySet<string>> {
  const parent = new Map<string, string>();
  const find = (k: string): string => {
    let root = k;
    while (parent.get(root) !== root) root = parent.get(root) ?? root;
    for (let cur = k; cur !== root; ) {
      const next = parent.get(cur)!;
      parent.set(cur, root);
      cur = next;
    }
    return root;
  };
  for (const entry of snapshot.hosts.values()) {
    const keys = entry.targets.map((t) => t.revision);
    for (const k of keys) if (!parent.has(k)) parent.set(k, k);
    for (let i = 1; i < keys.length; i++) {
      const a = find(keys[0]!);
      const b = find(keys[i]!);
      if (a !== b) parent.set(b, a);
    }
  }
  const sets = new Map<string, Set<string>>();
  for (const k of parent.keys()) {
    const root = find(k);
    let set = sets.get(root);
    if (set === undefined) sets.set(root, (set = new Set()));
    set.add(k);
  }
  const out = new Map<string, ReadonlySet<string>>();
  for (const set of sets.values()) for (const k of set) out.set(k, set);
  return out;
}

/** A revision's own set of route-connected revisions (itself alone when no route names it). */
export function closureOf(closures: ReadonlyMap<string, ReadonlySet<string>>, key: string): ReadonlySet<string> {
  return closures.get(key) ?? new Set([key]);
}

/**
 * Whether a worker forwards `key`: some revision of its route closure would get a limit of 0 on this worker.
 * Worker 0 never forwards.
 */
export function isForwarded(key: string, states: ReadonlyMap<string, RevisionState>, closures: ReadonlyMap<string, ReadonlySet<string>>, share: WorkerShare): boolean {
  if (share.index === 0 || share.count <= 1) return false;
  for (const k of closureOf(closures, key)) {
    const s = states.get(k);
    if (s === undefined) continue;
    const cc = s.containerConcurrency > 0 ? Math.floor(s.containerConcurrency) : 0;
    if (cc > 0 && s.endpoints.length < share.count && sharedLimit(cc, share) === 0) return true;
  }
  return false;
}

/**
 * A worker's view of a revision. `owner`: worker 0's private listener (undefined while worker 0 is not up: a
 * forwarded revision then has no endpoint, and its requests wait for one as at scale zero).
 */
export function workerRevision(
  key: string,
  states: ReadonlyMap<string, RevisionState>,
  closures: ReadonlyMap<string, ReadonlySet<string>>,
  share: WorkerShare,
  owner: { host: string; port: number } | undefined,
): WorkerRevision | undefined {
  const state = states.get(key);
  if (state === undefined) return undefined;
  if (!isForwarded(key, states, closures, share)) return { state: ownState(state, share), forwarded: false };
  // Failing fast stays local; everything else is worker 0's to throttle.
  const endpoints = owner === undefined ? [] : [{ id: `wisp-data-plane-0`, host: owner.host, port: owner.port }];
  return { state: { ...state, containerConcurrency: 0, endpoints }, forwarded: true };
}
