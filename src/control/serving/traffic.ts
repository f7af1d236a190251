import type { RouteEntry } from '../../../activator/types.js';
import type { TrafficTarget } from '../../api/types.js';
import { hostsFor, revisionKey } from './names.js';

/** A traffic entry with its revision resolved. */
export interface ResolvedTarget {
  revisionName: string;
  percent: number;
  tag?: string;
  latestRevision: boolean;
}

export type TrafficResolution =
  | { ok: true; targets: ResolvedTarget[] }
  | { ok: false; reason: 'RevisionMissing'; message: string };

/**
 * Resolves a Service's traffic block against the revisions that exist (pure).
 * `latestRevision: true` follows the latest Ready revision, as Knative's Route does. Before any revision
 * has been Ready it follows the latest created one, so that requests reach the activator, which answers
 * them with the revision's start-up failure instead of a 404 (Knative would leave the Route not ready).
 */
export function resolveTraffic(
  traffic: readonly TrafficTarget[],
  revisions: ReadonlySet<string>,
  latestCreated: string | undefined,
  latestReady: string | undefined,
): TrafficResolution {
  const targets: ResolvedTarget[] = [];
  for (const [i, t] of traffic.entries()) {
    const latest = t.latestRevision === true || (t.revisionName === undefined && t.latestRevision !== false);
    const name = latest ? (latestReady ?? latestCreated) : t.revisionName;
    if (name === undefined) {
      return { ok: false, reason: 'RevisionMissing', message: 'Configuration is waiting for a Revision to become ready.' };
    }
    if (!revisions.has(name)) {
      return { ok: false, reason: 'RevisionMissing', message: `Revision "${name}" referenced in traffic (spec.traffic[${i}]) not found.` };
    }
    const target: ResolvedTarget = { revisionName: name, percent: t.percent ?? 0, latestRevision: latest };
    if (t.tag) target.tag = t.tag;
    targets.push(target);
  }
  return { ok: true, targets };
}

/** Percent per revision for the main host (entries naming the same revision add up; 0 % entries drop out). */
export function splitByRevision(targets: readonly Pick<ResolvedTarget, 'revisionName' | 'percent'>[]): Map<string, number> {
  const split = new Map<string, number>();
  for (const t of targets) {
    if (t.percent > 0) split.set(t.revisionName, (split.get(t.revisionName) ?? 0) + t.percent);
  }
  return split;
}

/**
 * The activator's host entries of one Service's Route (pure): its main hosts split by percent across the revisions
 * that carry traffic, and one host per tag at 100 % to the tagged revision. Built from resolved targets by the serving
 * reconciler and from a Route's `status.traffic` by a data-plane-only activator (routing-view.ts), so both route alike.
 */
export function routeHosts(namespace: string, service: string, targets: readonly Pick<ResolvedTarget, 'revisionName' | 'percent' | 'tag'>[], domain: string): Map<string, RouteEntry> {
  const hosts = new Map<string, RouteEntry>();
  const split = new Map<string, number>();
  for (const [rev, percent] of splitByRevision(targets)) split.set(rev, percent);
  const main: RouteEntry = { namespace, service, targets: [...split].map(([rev, percent]) => ({ revision: revisionKey(namespace, rev), percent })) };
  if (main.targets.length > 0) for (const h of hostsFor(service, namespace, undefined, domain)) hosts.set(h, main);
  for (const t of targets) {
    if (!t.tag) continue;
    const tagged: RouteEntry = { namespace, service, targets: [{ revision: revisionKey(namespace, t.revisionName), percent: 100 }] };
    for (const h of hostsFor(service, namespace, t.tag, domain)) hosts.set(h, tagged);
  }
  return hosts;
}
