import type { Condition, RevisionStatus } from '../../api/types.js';
import type { RevisionRuntimeStatus } from '../../runtime/types.js';
import { type DesiredCondition, isTrue, readyFrom, setConditions } from '../conditions.js';

/**
 * A Revision's status from what the runtime reports (pure). Conditions follow Knative's Revision:
 * ResourcesAvailable and ContainerHealthy make up Ready; Active says whether replicas are up.
 * A revision that has been Ready stays Ready when scaled to zero (Active=False, NoTraffic).
 *
 * `initialScale` is the count the autoscaler starts the revision at. At 0 (`initial-scale: "0"` with
 * `allow-zero-initial-scale`) the scale target is initialized at once, as Knative's KPA marks it (its activation
 * threshold is 0): the revision is Ready at zero replicas and the first request scales it up.
 * A replica past its progress deadline before any was ready gives ResourcesAvailable=False, ProgressDeadlineExceeded
 * (Knative's reason when initial scale was never achieved).
 */
export function revisionStatus(
  previous: RevisionStatus | undefined,
  runtime: RevisionRuntimeStatus | undefined,
  generation: number,
  now: number,
  opts: { initialScale?: number } = {},
): RevisionStatus {
  // ResourcesAvailable turns True the first time a replica is ready and stays True: the revision's memory of having run.
  const wasReady = isTrue(previous?.conditions, 'ResourcesAvailable');
  const ready = runtime?.ready.length ?? 0;
  const desired = runtime?.desired ?? 0;
  const everReady = wasReady || ready > 0 || opts.initialScale === 0;

  let healthy: DesiredCondition;
  let resources: DesiredCondition;
  if (runtime?.failure) {
    const { reason, message } = runtime.failure;
    if (reason === 'ProgressDeadlineExceeded' && !everReady) {
      healthy = { type: 'ContainerHealthy', status: 'Unknown', reason: 'Deploying' };
      resources = { type: 'ResourcesAvailable', status: 'False', reason, message };
    } else if (reason === 'ImageNotRunnableLocally') {
      healthy = { type: 'ContainerHealthy', status: 'False', reason, message };
      resources = { type: 'ResourcesAvailable', status: 'False', reason, message };
    } else {
      healthy = { type: 'ContainerHealthy', status: 'False', reason, message: `Container failed with: ${message}` };
      resources = everReady ? { type: 'ResourcesAvailable', status: 'True' } : { type: 'ResourcesAvailable', status: 'Unknown', reason: 'Deploying' };
    }
  } else if (everReady) {
    healthy = { type: 'ContainerHealthy', status: 'True' };
    resources = { type: 'ResourcesAvailable', status: 'True' };
  } else {
    healthy = { type: 'ContainerHealthy', status: 'Unknown', reason: 'Deploying' };
    resources = { type: 'ResourcesAvailable', status: 'Unknown', reason: 'Deploying' };
  }

  let active: DesiredCondition;
  if (ready > 0) active = { type: 'Active', status: 'True' };
  else if (desired > 0) active = { type: 'Active', status: 'Unknown', reason: 'Activating', message: 'The revision is scaling up from zero.' };
  else active = { type: 'Active', status: 'False', reason: 'NoTraffic', message: 'The target is not receiving traffic.' };

  const conditions: Condition[] = setConditions(previous?.conditions, [readyFrom([resources, healthy]), resources, healthy, active], now);
  return { observedGeneration: generation, conditions, actualReplicas: ready, desiredReplicas: desired };
}
