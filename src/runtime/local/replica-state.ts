import { InvalidReplicaTransitionError } from './errors.js';

/**
 * Lifecycle of one replica slot:
 *   pending (getting a port, spawning) -> starting (process up, probing) -> ready
 *   starting|ready -> backoff (process exited; waits, then pending again)
 *   starting|ready -> draining (SIGTERM sent, SIGKILL after timeoutSeconds) -> stopped
 *   pending|backoff -> stopped (nothing running to drain)
 */
export type ReplicaPhase = 'pending' | 'starting' | 'ready' | 'backoff' | 'draining' | 'stopped';

const ALLOWED: Record<ReplicaPhase, readonly ReplicaPhase[]> = {
  pending: ['starting', 'backoff', 'stopped'],
  starting: ['ready', 'backoff', 'draining'],
  ready: ['backoff', 'draining'],
  backoff: ['pending', 'stopped'],
  draining: ['stopped'],
  stopped: [],
};

export function canTransition(from: ReplicaPhase, to: ReplicaPhase): boolean {
  return ALLOWED[from].includes(to);
}

export function assertTransition(replica: string, from: ReplicaPhase, to: ReplicaPhase): void {
  if (!canTransition(from, to)) throw new InvalidReplicaTransitionError(replica, from, to);
}

/** Counts as "starting" in the revision status (spawned or about to be, not ready yet). */
export function isStarting(p: ReplicaPhase): boolean {
  return p === 'pending' || p === 'starting' || p === 'backoff';
}

/** Scale-down order: starting ones first (newest first), then ready ones newest first. Pure. */
export function pickVictims<T extends { phase: ReplicaPhase; seq: number }>(replicas: readonly T[], count: number): T[] {
  const live = replicas.filter((r) => r.phase !== 'draining' && r.phase !== 'stopped');
  const rank = (r: T): number => (isStarting(r.phase) ? 0 : 1);
  return [...live].sort((a, b) => rank(a) - rank(b) || b.seq - a.seq).slice(0, Math.max(0, count));
}
