/**
 * ApiServerSources' reconciler: resolves each source's `spec.sink` like a Trigger subscriber, runs one
 * ApiServerSourceRunner per resolvable source (restarted when what it watches or where it sends changes), and writes
 * status (`sinkUri`, `ceAttributes`, conditions Ready, SinkProvided, Deployed). Reacts to ApiServerSource changes and
 * to the Brokers and Services sinks refer to. Deleting a source stops its events.
 * The watch/queue/sink/status skeleton is SourceReconciler's; this file says what an ApiServerSource runs.
 */
import type { Destination } from '../../../broker/types.js';
import { kindOf } from '../../api/kinds.js';
import type { KObject } from '../../api/types.js';
import type { SourceDeliveryError, SourceOverloadedError } from '../errors.js';
import { kindNamed, SourceReconciler, type SendingSourceOptions, type SourcePlan } from '../source-reconciler.js';
import { DEFAULT_API_SERVER_MODE, type ApiServerMode, type ApiServerResource } from './event.js';
import { ApiServerSourceRunner, type ApiServerDeliveryPolicy, type ApiServerOutcome, type ApiServerRunSpec } from './runner.js';
import { apiServerSourceStatus } from './status.js';

/** `spec` of an ApiServerSource (sources.knative.dev/v1). */
export interface ApiServerSourceSpec {
  resources?: ApiServerResource[];
  mode?: string;
  sink?: Destination;
  ceOverrides?: { extensions?: Record<string, string> };
}

export interface ApiServerSourcesReconcilerOptions extends SendingSourceOptions<ApiServerDeliveryPolicy, ApiServerOutcome> {
  /** The events' `source`: the control API base URL, e.g. `http://127.0.0.1:8090`. */
  sourceUri: string;
  /** Event ids; default random UUIDs. */
  newId?: () => string;
}

const APISERVERSOURCES = kindNamed('apiserversources.sources.knative.dev');

const specOf = (source: KObject): ApiServerSourceSpec => (source.spec ?? {}) as ApiServerSourceSpec;
const modeOf = (spec: ApiServerSourceSpec): ApiServerMode => (spec.mode === 'Resource' ? 'Resource' : DEFAULT_API_SERVER_MODE);

/** What an ApiServerSource runs, or why it cannot (no resources, or a kind the API does not serve). */
function plan(source: KObject, sinkUri: string, sourceUri: string): SourcePlan<ApiServerRunSpec> {
  const spec = specOf(source);
  const resources = spec.resources ?? [];
  const unknown = resources.find((r) => !kindOf(r.apiVersion, r.kind));
  if (resources.length === 0 || unknown) {
    const message = unknown ? `unknown kind "${unknown.kind}" in "${unknown.apiVersion}"` : 'spec.resources is empty';
    return { problem: { reason: 'InvalidResources', message } };
  }
  return {
    runSpec: {
      namespace: source.metadata.namespace,
      name: source.metadata.name,
      resources,
      mode: modeOf(spec),
      sourceUri,
      ...(spec.ceOverrides?.extensions !== undefined ? { extensions: spec.ceOverrides.extensions } : {}),
      sinkUri,
    },
  };
}

export class ApiServerSourcesReconciler extends SourceReconciler<ApiServerRunSpec, ApiServerSourceRunner> {
  constructor(options: ApiServerSourcesReconcilerOptions) {
    const o = options;
    super({
      store: o.store,
      clock: o.clock,
      ...(o.onError !== undefined ? { onError: o.onError } : {}),
      source: {
        kind: APISERVERSOURCES,
        label: 'apiserversource',
        waitingForSink: 'The watch starts once the sink resolves.',
        plan: (source, sinkUri) => plan(source, sinkUri, o.sourceUri),
        createRunner: (key, spec) => {
          const onOutcome = o.onOutcome;
          return new ApiServerSourceRunner({
            spec,
            store: o.store,
            clock: o.clock,
            sender: o.sender,
            ...(o.delivery !== undefined ? { delivery: o.delivery } : {}),
            ...(o.newId !== undefined ? { newId: o.newId } : {}),
            ...(onOutcome !== undefined ? { onOutcome: (out: ApiServerOutcome) => onOutcome(key, out) } : {}),
            onError: (err: SourceDeliveryError | SourceOverloadedError) => o.onError?.(`apiserversource ${key}`, err),
          });
        },
        status: (source, state) =>
          apiServerSourceStatus({ generation: source.metadata.generation ?? 1, mode: modeOf(specOf(source)), sourceUri: o.sourceUri, ...state }),
      },
    });
  }
}
