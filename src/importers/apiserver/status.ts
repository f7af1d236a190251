/** ApiServerSource status as Knative's lifecycle shows it: SinkProvided, Deployed, Ready. Pure: `now` is handed in. */
import type { Condition } from '../../api/types.js';
import { readyFrom, setConditions, type DesiredCondition } from '../../control/conditions.js';
import type { DeployState, SinkState } from '../status.js';
import { apiServerEventTypes, type ApiServerMode } from './event.js';

export interface ApiServerSourceStatus {
  observedGeneration: number;
  sinkUri?: string;
  /** The attributes of the events this source emits (Knative's duckv1.SourceStatus). */
  ceAttributes: { type: string; source: string }[];
  conditions: Condition[];
}

export function apiServerSourceStatus(opts: {
  generation: number;
  mode: ApiServerMode;
  sourceUri: string;
  sink: SinkState;
  deploy: DeployState;
  previous: readonly Condition[] | undefined;
  now: number;
}): ApiServerSourceStatus {
  const sink: DesiredCondition =
    opts.sink.kind === 'resolved'
      ? { type: 'SinkProvided', status: 'True' }
      : { type: 'SinkProvided', status: 'False', reason: opts.sink.reason, message: opts.sink.message };
  const deployed: DesiredCondition =
    opts.deploy.kind === 'running'
      ? { type: 'Deployed', status: 'True' }
      : { type: 'Deployed', status: opts.sink.kind === 'resolved' ? 'False' : 'Unknown', reason: opts.deploy.reason, message: opts.deploy.message };
  const dependents = [sink, deployed];
  const status: ApiServerSourceStatus = {
    observedGeneration: opts.generation,
    ceAttributes: apiServerEventTypes(opts.mode).map((type) => ({ type, source: opts.sourceUri })),
    conditions: setConditions(opts.previous, [readyFrom(dependents), ...dependents], opts.now),
  };
  if (opts.sink.kind === 'resolved') status.sinkUri = opts.sink.uri;
  return status;
}
