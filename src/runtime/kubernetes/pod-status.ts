/**
 * A revision's runtime status from what the API server shows of it: ready endpoints from its EndpointSlices, starting
 * Pods and restarts from its Pods, and why it fails as Knative's revision reconciler reads it from the Pods and the
 * Deployment. Pure: a function of the observed objects (and the failure it had before, which stays until a replica is
 * ready, as the embedded runtime keeps it). Only `import type` from @kubernetes/client-node.
 *
 * Objects come from lists (typed by the client) and from watch events (plain JSON): only fields that read the same in
 * both are used (no timestamps beyond "is it set").
 */
import type { V1ContainerStatus, V1Deployment, V1EndpointSlice, V1Pod } from '@kubernetes/client-node';
import { tail } from '../local/failure.js';
import type { ReplicaEndpoint, RevisionFailure, RevisionRuntimeStatus } from '../types.js';
import { SERVICE_PORT_NAME } from './objects.js';

/** Waiting reasons that mean the container cannot start as it is (Knative surfaces them on the Revision). */
export const FAILING_WAITING_REASONS: ReadonlySet<string> = new Set([
  'CrashLoopBackOff',
  'ErrImagePull',
  'ImagePullBackOff',
  'CreateContainerConfigError',
  'CreateContainerError',
  'InvalidImageName',
]);

export const PROGRESS_DEADLINE_EXCEEDED = 'ProgressDeadlineExceeded';
export const UNSCHEDULABLE = 'Unschedulable';

/** What the watches hold of one revision. */
export interface ObservedRevision {
  deployment?: V1Deployment | undefined;
  pods: readonly V1Pod[];
  slices: readonly V1EndpointSlice[];
}

export interface StatusInput {
  /** Replicas asked for (the last scale(), else the Deployment's spec.replicas). */
  desired: number;
  /** false: the workload serves nothing; `running` counts its Ready Pods. */
  listens: boolean;
  observed: ObservedRevision;
  /** The API refused the Deployment or Service (`DeploymentFailed`): wins over everything until a write succeeds. */
  apiFailure?: RevisionFailure | undefined;
  /** The observed failure of last time; kept while nothing is ready and nothing newer explains why. */
  previousFailure?: RevisionFailure | undefined;
}

function byName<T extends { metadata?: { name?: string } }>(items: readonly T[]): T[] {
  return [...items].sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
}

const isTerminating = (p: V1Pod): boolean => p.metadata?.deletionTimestamp !== undefined && p.metadata.deletionTimestamp !== null;
const isFinished = (p: V1Pod): boolean => p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed';
const isPodReady = (p: V1Pod): boolean => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

/**
 * Ready endpoints of the revision's slices: `conditions.ready` true, one per Pod (`targetRef.name`; IPv4 before IPv6),
 * on the slice's `http` port (else its first). Sorted by id.
 */
export function readyEndpoints(slices: readonly V1EndpointSlice[]): ReplicaEndpoint[] {
  const out = new Map<string, ReplicaEndpoint>();
  const ordered = byName(slices).sort((a, b) => Number(a.addressType !== 'IPv4') - Number(b.addressType !== 'IPv4'));
  for (const s of ordered) {
    const port = (s.ports?.find((p) => p.name === SERVICE_PORT_NAME) ?? s.ports?.[0])?.port;
    if (port === undefined || port === null) continue;
    for (const e of s.endpoints ?? []) {
      const host = e.addresses?.[0];
      if (e.conditions?.ready !== true || e.conditions.terminating === true || host === undefined) continue;
      const id = e.targetRef?.name ?? host;
      if (!out.has(id)) out.set(id, { id, host, port });
    }
  }
  return [...out.values()].sort((a, b) => a.id.localeCompare(b.id));
}

/** Pods not ready and not going away; restarts of every container; Ready Pods (what `running` counts). */
export function podCounts(pods: readonly V1Pod[]): { starting: number; restarts: number; readyPods: number } {
  let starting = 0;
  let restarts = 0;
  let readyPods = 0;
  for (const p of pods) {
    for (const cs of p.status?.containerStatuses ?? []) restarts += cs.restartCount ?? 0;
    if (isTerminating(p) || isFinished(p)) continue;
    if (isPodReady(p)) readyPods += 1;
    else starting += 1;
  }
  return { starting, restarts, readyPods };
}

function exitFailure(cs: V1ContainerStatus): RevisionFailure | undefined {
  const t = cs.lastState?.terminated ?? cs.state?.terminated;
  if (!t) return undefined;
  const detail = t.message !== undefined && t.message !== null && t.message.trim() !== '' ? tail(t.message) : undefined;
  // Knative: ExitCodeReason + RevisionContainerExitingMessage ("container exited with no error" for a silent exit 0).
  const fallback = t.exitCode === 0 ? 'container exited with no error' : `container "${cs.name}" exited with code ${t.exitCode}${t.reason ? ` (${t.reason})` : ''}`;
  return { reason: `ExitCode${t.exitCode}`, message: `Container failed with: ${detail ?? fallback}` };
}

function containerFailure(cs: V1ContainerStatus): RevisionFailure | undefined {
  const w = cs.state?.waiting;
  const waitingReason = w?.reason ?? '';
  if (waitingReason !== '' && waitingReason !== 'CrashLoopBackOff' && FAILING_WAITING_REASONS.has(waitingReason)) {
    return { reason: waitingReason, message: w?.message ?? waitingReason };
  }
  // A crash loop (or a container between two crashes): its last exit says more than "back-off".
  const exit = exitFailure(cs);
  if (exit) return exit;
  if (waitingReason === 'CrashLoopBackOff') return { reason: waitingReason, message: w?.message ?? waitingReason };
  return undefined;
}

/**
 * Why the revision's Pods do not become ready, from the first Pod (by name) that is not ready and not going away: a
 * container that cannot start (image, config) or exits (`ExitCode<N>`, its last termination), else a Pod that cannot
 * be scheduled. Undefined when no Pod explains anything.
 */
export function podFailure(pods: readonly V1Pod[]): RevisionFailure | undefined {
  for (const p of byName(pods)) {
    if (isTerminating(p) || isPodReady(p)) continue;
    for (const cs of p.status?.containerStatuses ?? []) {
      const f = containerFailure(cs);
      if (f) return f;
    }
  }
  for (const p of byName(pods)) {
    if (isTerminating(p)) continue;
    const sched = p.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False');
    if (sched && (sched.reason ?? UNSCHEDULABLE) === UNSCHEDULABLE) return { reason: UNSCHEDULABLE, message: sched.message ?? 'the Pod cannot be scheduled' };
  }
  return undefined;
}

/** The Deployment's own verdict: progress deadline exceeded, or its ReplicaSet cannot create Pods (quota, admission). */
export function deploymentFailure(d: V1Deployment | undefined): RevisionFailure | undefined {
  const conds = d?.status?.conditions ?? [];
  const stalled = conds.find((c) => c.type === 'Progressing' && c.status === 'False' && c.reason === PROGRESS_DEADLINE_EXCEEDED);
  if (stalled) return { reason: PROGRESS_DEADLINE_EXCEEDED, message: stalled.message ?? 'the Deployment did not progress within its deadline' };
  const replicaFailure = conds.find((c) => c.type === 'ReplicaFailure' && c.status === 'True');
  if (replicaFailure) return { reason: replicaFailure.reason ?? 'ReplicaFailure', message: replicaFailure.message ?? '' };
  return undefined;
}

/**
 * The revision's RevisionRuntimeStatus, and the failure to remember as `previousFailure` next time (the observed one:
 * an API refusal is not remembered, it goes when a write succeeds). Pure.
 */
export function deriveStatus(input: StatusInput): { status: RevisionRuntimeStatus; observedFailure: RevisionFailure | undefined } {
  const { observed } = input;
  const pods = observed.pods;
  const counts = podCounts(pods);
  const ready = input.listens ? readyEndpoints(observed.slices) : [];
  const status: RevisionRuntimeStatus = { desired: input.desired, ready, starting: counts.starting, restarts: counts.restarts };
  if (!input.listens) status.running = counts.readyPods;
  const serving = input.listens ? ready.length > 0 : counts.readyPods > 0;
  const observedFailure = serving ? undefined : (podFailure(pods) ?? deploymentFailure(observed.deployment) ?? input.previousFailure);
  const failure = input.apiFailure ?? observedFailure;
  if (failure) status.failure = { reason: failure.reason, message: failure.message };
  return { status, observedFailure };
}
