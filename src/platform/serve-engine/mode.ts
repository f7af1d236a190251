/**
 * Which revisions haproxy serves itself, Knative's ServerlessService rule (pure): a revision is in **serve** mode when
 * it has ready replicas and enough burst capacity (excess burst capacity ≥ 0, or target-burst-capacity −1: always),
 * otherwise in **proxy** mode, where its hosts point at the activator, which buffers requests, pokes the autoscaler
 * and sets X-Wisp-Cold-Start. Hosts that split traffic over several revisions stay on the activator (it owns the
 * weighted choice); a host whose route has one target at 100 % can be served.
 */
import type { RouteEntry } from '../../../activator/types.js';

export type ServeMode = 'serve' | 'proxy';

/** host → the revision it may be served by (single target at 100 %). Hosts with splits are absent. */
export function servableHosts(hosts: ReadonlyMap<string, RouteEntry>): Map<string, string> {
  const out = new Map<string, string>();
  for (const [host, entry] of hosts) {
    const only = entry.targets.length === 1 ? entry.targets[0] : undefined;
    if (only !== undefined && only.percent === 100 && isMapKey(host)) out.set(host, only.revision);
  }
  return out;
}

/** A host that can be a key of haproxy's map (no spaces, `#` or control characters; lower case as the lookup is). */
function isMapKey(host: string): boolean {
  return /^[a-z0-9.-]+$/.test(host);
}

export interface ModeInput {
  /** The revision's backend is in the running haproxy's config. */
  backendLive: boolean;
  /** Ready endpoints, and how many the backend has slots for. */
  ready: number;
  slots: number;
  /** The revision cannot start (its waiting requests must fail on the activator with the reason). */
  failed: boolean;
  /** target-burst-capacity of the revision: −1 unlimited; undefined when the autoscaler does not know it. */
  targetBurstCapacity: number | undefined;
  /** Excess burst capacity of the autoscaler's last decision; undefined before the first one. */
  excessBurstCapacity: number | undefined;
  /** A scale-down is under way: the activator takes the traffic until the runtime has stopped the victims. */
  held: boolean;
}

export function modeOf(m: ModeInput): ServeMode {
  if (!m.backendLive || m.held || m.failed || m.ready === 0 || m.ready > m.slots) return 'proxy';
  const tbc = m.targetBurstCapacity;
  if (tbc === undefined) return 'proxy';
  // tbc −1: always serve when ready; tbc 0: the excess is 0 by definition (the decider says so too).
  if (tbc < 0 || tbc === 0) return 'serve';
  return m.excessBurstCapacity !== undefined && m.excessBurstCapacity >= 0 ? 'serve' : 'proxy';
}
