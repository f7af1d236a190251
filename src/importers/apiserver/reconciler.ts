/**
 * ApiServerSources' reconciler: resolves each source's `spec.sink` like a Trigger subscriber, runs one runner per
 * resolvable source (restarted when what it watches or where it sends changes), and writes status (`sinkUri`,
 * `ceAttributes`, conditions Ready, SinkProvided, Deployed). Reacts to ApiServerSource changes and to the Brokers and
 * Services sinks refer to. Deleting a source stops its events.
 *
 * Embedded, a source watches Wisp's own store (ApiServerSourceRunner); with `cluster` (Kubernetes mode) it watches
 * the cluster's API server, any kind discovery knows, as its ServiceAccount (KubeApiServerSourceRunner), and its
 * `Deployed` condition follows the runner's health (Forbidden, ResourceNotFound, ...).
 * The watch/queue/sink/status skeleton is SourceReconciler's; this file says what an ApiServerSource runs.
 */
import type { Destination } from '../../../broker/types.js';
import { kindOf } from '../../api/kinds.js';
import { labelSelectorErrors, type LabelSelector } from '../../api/selector.js';
import type { KObject } from '../../api/types.js';
import type { SourceDeliveryError, SourceOverloadedError } from '../errors.js';
import { kindNamed, SourceReconciler, type SendingSourceOptions, type SourcePlan, type SourceRunner } from '../source-reconciler.js';
import { DEFAULT_API_SERVER_MODE, type ApiServerMode, type ApiServerOwner, type ApiServerResource } from './event.js';
import type { Backoff } from './kube-list-watch.js';
import type { KubeApiServerAccess, KubeApiServerSourceRunner } from './kube-runner.js';
import { DEFAULT_SERVICE_ACCOUNT, type KubeApiServerRunSpec, type WatchProblem } from './kube-spec.js';
import { ApiServerSourceRunner, type ApiServerDeliveryPolicy, type ApiServerOutcome, type ApiServerRunSpec } from './runner.js';
import { apiServerSourceStatus } from './status.js';

/** `spec` of an ApiServerSource (sources.knative.dev/v1). */
export interface ApiServerSourceSpec {
  resources?: ApiServerResource[];
  owner?: ApiServerOwner;
  mode?: string;
  serviceAccountName?: string;
  namespaceSelector?: LabelSelector;
  sink?: Destination;
  ceOverrides?: { extensions?: Record<string, string> };
}

/** Kubernetes mode: sources watch the cluster. */
export interface ApiServerClusterOptions {
  access: KubeApiServerAccess;
  /**
   * The cluster runner's class, handed in by Kubernetes mode (kube-cluster.ts): it pulls in @kubernetes/client-node,
   * which the embedded default never loads.
   */
  Runner: typeof KubeApiServerSourceRunner;
  /** Retry back-off of discovery, lists and watches; the runner's default otherwise. */
  backoff?: Backoff;
  /** A source stopped working (its `Deployed` reason and message), for logs. */
  onProblem?: (key: string, problem: WatchProblem) => void;
}

export interface ApiServerSourcesReconcilerOptions extends SendingSourceOptions<ApiServerDeliveryPolicy, ApiServerOutcome> {
  /** The events' `source`: the control API base URL embedded, e.g. `http://127.0.0.1:8090`; the API server's URL on Kubernetes. */
  sourceUri: string;
  /** Watch the cluster's API server instead of the store (Kubernetes mode). */
  cluster?: ApiServerClusterOptions;
  /** Event ids; default random UUIDs. */
  newId?: () => string;
}

type RunSpec = ApiServerRunSpec | KubeApiServerRunSpec;
export type ApiServerRunner = ApiServerSourceRunner | KubeApiServerSourceRunner;

const APISERVERSOURCES = kindNamed('apiserversources.sources.knative.dev');

const specOf = (source: KObject): ApiServerSourceSpec => (source.spec ?? {}) as ApiServerSourceSpec;
const modeOf = (spec: ApiServerSourceSpec): ApiServerMode => (spec.mode === 'Resource' ? 'Resource' : DEFAULT_API_SERVER_MODE);
const invalid = (message: string): SourcePlan<never> => ({ problem: { reason: 'InvalidResources', message } });

/** Selector problems the API server would answer with a 400 on every list: said once, in the status. */
function selectorProblem(spec: ApiServerSourceSpec): string | undefined {
  const errs = [
    ...(spec.resources ?? []).flatMap((r, i) => labelSelectorErrors(r.selector, `spec.resources[${i}].selector`)),
    ...labelSelectorErrors(spec.namespaceSelector, 'spec.namespaceSelector'),
  ];
  return errs.length > 0 ? errs.map((e) => `${e.field}: ${e.message}`).join('; ') : undefined;
}

/** What an ApiServerSource runs, or why it cannot (no resources, a kind Wisp's store does not have, a bad selector). */
function plan(source: KObject, sinkUri: string, sourceUri: string, cluster: boolean): SourcePlan<RunSpec> {
  const spec = specOf(source);
  const resources = spec.resources ?? [];
  if (resources.length === 0) return invalid('spec.resources is empty');
  const incomplete = resources.findIndex((r) => !r.apiVersion || !r.kind);
  if (incomplete >= 0) return invalid(`spec.resources[${incomplete}]: apiVersion and kind are required`);
  const badSelector = selectorProblem(spec);
  if (badSelector) return { problem: { reason: 'InvalidSelector', message: badSelector } };
  const common = {
    namespace: source.metadata.namespace,
    name: source.metadata.name,
    resources,
    ...(spec.owner !== undefined ? { owner: spec.owner } : {}),
    mode: modeOf(spec),
    sourceUri,
    ...(spec.ceOverrides?.extensions !== undefined ? { extensions: spec.ceOverrides.extensions } : {}),
    sinkUri,
  };
  if (cluster) {
    // Any kind: discovery says whether the cluster serves it (the runner's health shows ResourceNotFound if not).
    return {
      runSpec: {
        ...common,
        ...(spec.namespaceSelector !== undefined ? { namespaceSelector: spec.namespaceSelector } : {}),
        serviceAccountName: spec.serviceAccountName || DEFAULT_SERVICE_ACCOUNT,
      },
    };
  }
  const unknown = resources.find((r) => !kindOf(r.apiVersion, r.kind));
  if (unknown) return invalid(`unknown kind "${unknown.kind}" in "${unknown.apiVersion}"`);
  if (spec.namespaceSelector !== undefined) {
    return { problem: { reason: 'Unsupported', message: 'spec.namespaceSelector needs Kubernetes mode (wisp up --runtime kubernetes): the embedded store has no Namespaces' } };
  }
  return { runSpec: common };
}

export class ApiServerSourcesReconciler extends SourceReconciler<RunSpec, SourceRunner & ApiServerRunner> {
  constructor(options: ApiServerSourcesReconcilerOptions) {
    const o = options;
    const cluster = o.cluster;
    // The status of a Kubernetes-mode source names the namespaces its runner watches; set once super() returned.
    const self: { reconciler?: ApiServerSourcesReconciler } = {};
    const namespacesOf = (source: KObject): string[] | undefined => {
      const runner = self.reconciler?.runner(`${source.metadata.namespace}/${source.metadata.name}`);
      return runner !== undefined && !(runner instanceof ApiServerSourceRunner) ? runner.namespaces() : undefined;
    };
    super({
      store: o.store,
      clock: o.clock,
      ...(o.onError !== undefined ? { onError: o.onError } : {}),
      source: {
        kind: APISERVERSOURCES,
        label: 'apiserversource',
        waitingForSink: 'The watch starts once the sink resolves.',
        plan: (source, sinkUri) => plan(source, sinkUri, o.sourceUri, cluster !== undefined),
        createRunner: (key, spec, requeue) => {
          const onOutcome = o.onOutcome;
          const common = {
            clock: o.clock,
            sender: o.sender,
            ...(o.delivery !== undefined ? { delivery: o.delivery } : {}),
            ...(o.newId !== undefined ? { newId: o.newId } : {}),
            ...(onOutcome !== undefined ? { onOutcome: (out: ApiServerOutcome) => onOutcome(key, out) } : {}),
            onError: (err: SourceDeliveryError | SourceOverloadedError) => o.onError?.(`apiserversource ${key}`, err),
          };
          if (cluster) {
            return new cluster.Runner({
              ...common,
              spec: spec as KubeApiServerRunSpec,
              access: cluster.access,
              requeue,
              ...(cluster.backoff !== undefined ? { backoff: cluster.backoff } : {}),
              onProblem: (problem) => cluster.onProblem?.(key, problem),
            });
          }
          return new ApiServerSourceRunner({ ...common, spec: spec as ApiServerRunSpec, store: o.store });
        },
        status: (source, state) =>
          apiServerSourceStatus({
            generation: source.metadata.generation ?? 1,
            mode: modeOf(specOf(source)),
            sourceUri: o.sourceUri,
            ...(cluster !== undefined ? { namespaces: namespacesOf(source) } : {}),
            ...state,
          }),
      },
    });
    self.reconciler = this;
  }
}
