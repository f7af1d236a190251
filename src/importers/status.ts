/** PingSource status as Knative's PingSource lifecycle shows it: SinkProvided, Deployed, Ready. Pure: `now` is handed in. */
import type { Condition } from '../api/types.js';
import { readyFrom, setConditions, type DesiredCondition } from '../control/conditions.js';
import { PING_EVENT_TYPE, pingSourceUri } from './ping/event.js';

export interface PingSourceStatus {
  observedGeneration: number;
  sinkUri?: string;
  /** The attributes of the events this source emits (Knative's duckv1.SourceStatus). */
  ceAttributes: { type: string; source: string }[];
  conditions: Condition[];
}

/** Where the sink stands: resolved to a URL, or not (Knative marks `SinkProvided` False with reason `NotFound`). */
export type SinkState = { kind: 'resolved'; uri: string } | { kind: 'unresolved'; reason: string; message: string };

/** Whether the schedule runs: running, or why not. */
export type DeployState = { kind: 'running' } | { kind: 'not-running'; reason: string; message: string };

export function pingSourceStatus(opts: {
  namespace: string;
  name: string;
  generation: number;
  sink: SinkState;
  deploy: DeployState;
  previous: readonly Condition[] | undefined;
  now: number;
}): PingSourceStatus {
  const sink: DesiredCondition =
    opts.sink.kind === 'resolved'
      ? { type: 'SinkProvided', status: 'True' }
      : { type: 'SinkProvided', status: 'False', reason: opts.sink.reason, message: opts.sink.message };
  const deployed: DesiredCondition =
    opts.deploy.kind === 'running'
      ? { type: 'Deployed', status: 'True' }
      : { type: 'Deployed', status: opts.sink.kind === 'resolved' ? 'False' : 'Unknown', reason: opts.deploy.reason, message: opts.deploy.message };
  const dependents = [sink, deployed];
  const status: PingSourceStatus = {
    observedGeneration: opts.generation,
    ceAttributes: [{ type: PING_EVENT_TYPE, source: pingSourceUri(opts.namespace, opts.name) }],
    conditions: setConditions(opts.previous, [readyFrom(dependents), ...dependents], opts.now),
  };
  if (opts.sink.kind === 'resolved') status.sinkUri = opts.sink.uri;
  return status;
}
