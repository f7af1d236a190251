/** ApiServerSource status as Knative's lifecycle shows it: SinkProvided, Deployed, Ready (and the namespaces watched). Pure: `now` is handed in. */
import type { Condition } from '../../api/types.js';
import { sourceStatus, type DeployState, type SinkState, type SourceStatus } from '../status.js';
import { apiServerEventTypes, type ApiServerMode } from './event.js';

export type ApiServerSourceStatus = SourceStatus & { namespaces?: string[] };

export function apiServerSourceStatus(opts: {
  generation: number;
  mode: ApiServerMode;
  sourceUri: string;
  /** Knative's `status.namespaces`: the namespaces watched (Kubernetes mode). */
  namespaces?: string[] | undefined;
  sink: SinkState;
  deploy: DeployState;
  previous: readonly Condition[] | undefined;
  now: number;
}): ApiServerSourceStatus {
  const { mode, sourceUri, namespaces, ...rest } = opts;
  const status = sourceStatus({ ...rest, ceAttributes: apiServerEventTypes(mode).map((type) => ({ type, source: sourceUri })) });
  return namespaces !== undefined ? { ...status, namespaces } : status;
}
