/** ApiServerSource status as Knative's lifecycle shows it: SinkProvided, Deployed, Ready. Pure: `now` is handed in. */
import type { Condition } from '../../api/types.js';
import { sourceStatus, type DeployState, type SinkState, type SourceStatus } from '../status.js';
import { apiServerEventTypes, type ApiServerMode } from './event.js';

export type ApiServerSourceStatus = SourceStatus;

export function apiServerSourceStatus(opts: {
  generation: number;
  mode: ApiServerMode;
  sourceUri: string;
  sink: SinkState;
  deploy: DeployState;
  previous: readonly Condition[] | undefined;
  now: number;
}): ApiServerSourceStatus {
  const { mode, sourceUri, ...rest } = opts;
  return sourceStatus({ ...rest, ceAttributes: apiServerEventTypes(mode).map((type) => ({ type, source: sourceUri })) });
}
