/**
 * SinkBinding status: `sinkUri` and the conditions SinkProvided, BindingAvailable (is there a subject to bind:
 * a subject named by `name` must exist) and Ready from both. Knative folds the subject into Ready alone; Wisp names
 * it so `wisp describe` says which half is missing. Pure: `now` is handed in.
 */
import type { Condition } from '../../api/types.js';
import { readyFrom, setConditions, type DesiredCondition } from '../../control/conditions.js';
import type { DeployState, SinkState } from '../status.js';

export interface SinkBindingStatus {
  observedGeneration: number;
  sinkUri?: string;
  conditions: Condition[];
}

export function sinkBindingStatus(opts: {
  generation: number;
  sink: SinkState;
  /** Whether the binding applies: `running` when its subject is there (or it selects by labels). */
  deploy: DeployState;
  previous: readonly Condition[] | undefined;
  now: number;
}): SinkBindingStatus {
  const sink: DesiredCondition =
    opts.sink.kind === 'resolved'
      ? { type: 'SinkProvided', status: 'True' }
      : { type: 'SinkProvided', status: 'False', reason: opts.sink.reason, message: opts.sink.message };
  const bound: DesiredCondition =
    opts.deploy.kind === 'running'
      ? { type: 'BindingAvailable', status: 'True' }
      : { type: 'BindingAvailable', status: opts.sink.kind === 'resolved' ? 'False' : 'Unknown', reason: opts.deploy.reason, message: opts.deploy.message };
  const dependents = [sink, bound];
  const status: SinkBindingStatus = {
    observedGeneration: opts.generation,
    conditions: setConditions(opts.previous, [readyFrom(dependents), ...dependents], opts.now),
  };
  if (opts.sink.kind === 'resolved') status.sinkUri = opts.sink.uri;
  return status;
}
