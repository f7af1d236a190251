/**
 * Importers' status as Knative's source lifecycles show it: SinkProvided, Deployed, Ready. One builder for every
 * source kind (sourceStatus); each kind supplies its `ceAttributes`. Pure: `now` is handed in.
 */
import type { Condition } from '../api/types.js';
import { readyFrom, setConditions, type DesiredCondition } from '../control/conditions.js';
import { PING_EVENT_TYPE, pingSourceUri } from './ping/event.js';

/** Status of any importer (Knative's duckv1.SourceStatus plus `observedGeneration`). */
export interface SourceStatus {
  observedGeneration: number;
  sinkUri?: string;
  /** The attributes of the events this source emits (Knative's duckv1.SourceStatus); none for a SinkBinding. */
  ceAttributes?: { type: string; source: string }[];
  conditions: Condition[];
}

export type PingSourceStatus = SourceStatus;

/** Where the sink stands: resolved to a URL, or not (Knative marks `SinkProvided` False with reason `NotFound`). */
export type SinkState = { kind: 'resolved'; uri: string } | { kind: 'unresolved'; reason: string; message: string };

/**
 * Whether the source runs: running (with a message for the conditions when it has something to say, e.g. a
 * SinkBinding's `bound 2 subjects`), why not, or `pending`: on its way (connecting, starting), not failed — its
 * `Deployed` condition is Unknown, so `apply --wait` keeps waiting.
 */
export type DeployState =
  | { kind: 'running'; message?: string }
  | { kind: 'not-running'; reason: string; message: string }
  | { kind: 'pending'; reason: string; message: string };

/**
 * SinkProvided and Deployed (or, for a SinkBinding, `deployedType` BindingAvailable) from where the sink and the
 * runner stand, Ready from both, merged into `previous`.
 */
export function sourceStatus(opts: {
  generation: number;
  ceAttributes?: { type: string; source: string }[];
  deployedType?: string;
  sink: SinkState;
  deploy: DeployState;
  previous: readonly Condition[] | undefined;
  now: number;
}): SourceStatus {
  const sink: DesiredCondition =
    opts.sink.kind === 'resolved'
      ? { type: 'SinkProvided', status: 'True' }
      : { type: 'SinkProvided', status: 'False', reason: opts.sink.reason, message: opts.sink.message };
  const type = opts.deployedType ?? 'Deployed';
  const deployed: DesiredCondition =
    opts.deploy.kind === 'running'
      ? { type, status: 'True', ...(opts.deploy.message !== undefined && { message: opts.deploy.message }) }
      : {
          type,
          status: opts.sink.kind === 'resolved' && opts.deploy.kind === 'not-running' ? 'False' : 'Unknown',
          reason: opts.deploy.reason,
          message: opts.deploy.message,
        };
  const dependents = [sink, deployed];
  const ready = readyFrom(dependents);
  // Ready True repeats what the running source says of itself (`bound 2 subjects`).
  if (ready.status === 'True' && deployed.message !== undefined) ready.message = deployed.message;
  const status: SourceStatus = {
    observedGeneration: opts.generation,
    ...(opts.ceAttributes !== undefined ? { ceAttributes: opts.ceAttributes } : {}),
    conditions: setConditions(opts.previous, [ready, ...dependents], opts.now),
  };
  if (opts.sink.kind === 'resolved') status.sinkUri = opts.sink.uri;
  return status;
}

export function pingSourceStatus(opts: {
  namespace: string;
  name: string;
  generation: number;
  sink: SinkState;
  deploy: DeployState;
  previous: readonly Condition[] | undefined;
  now: number;
}): PingSourceStatus {
  const { namespace, name, ...rest } = opts;
  return sourceStatus({ ...rest, ceAttributes: [{ type: PING_EVENT_TYPE, source: pingSourceUri(namespace, name) }] });
}
