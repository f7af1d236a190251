/**
 * SinkBinding status: `sinkUri` and the conditions SinkProvided, BindingAvailable (is there a subject to bind:
 * a subject named by `name` must exist) and Ready from both. Knative folds the subject into Ready alone; Wisp names
 * it so `wisp describe` says which half is missing. A binding emits nothing, so it has no `ceAttributes`. Pure.
 */
import type { Condition } from '../../api/types.js';
import { sourceStatus, type DeployState, type SinkState, type SourceStatus } from '../status.js';

export type SinkBindingStatus = Omit<SourceStatus, 'ceAttributes'>;

export function sinkBindingStatus(opts: {
  generation: number;
  sink: SinkState;
  /** Whether the binding applies: `running` when its subject is there (or it selects by labels). */
  deploy: DeployState;
  previous: readonly Condition[] | undefined;
  now: number;
}): SinkBindingStatus {
  return sourceStatus({ ...opts, deployedType: 'BindingAvailable' });
}
