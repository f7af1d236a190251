/**
 * What a ContainerSource becomes on Kubernetes, as Knative's `reconciler/containersource/resources/` builds it: a
 * Deployment `<source>-deployment` running the source's pod template, labelled (and selected by)
 * `sources.knative.dev/source: container-source-controller` and `sources.knative.dev/containerSource: <source>`, and
 * owned by the ContainerSource, so Kubernetes' garbage collector deletes it with the source. Every container and init
 * container gets `K_SINK` and `K_CE_OVERRIDES` (pod-env.ts).
 *
 * Knative's reconciler creates a SinkBinding `<source>-sinkbinding` whose subject is that Deployment, and the binding
 * injects the variables. Wisp writes them into the Deployment it builds: the same pod template with one object
 * fewer, and a sink change is one update of the Deployment (which rolls its Pods).
 *
 * Also the source's `Deployed` state from what the cluster shows (the Deployment's `Available` condition; failures
 * from its Pods as the runtime reads a Revision's). Pure: only `import type` from @kubernetes/client-node.
 */
import type { V1Deployment, V1OwnerReference, V1Pod, V1PodSpec } from '@kubernetes/client-node';
import type { ContainerSourceSpec } from '../../api/containersource.js';
import type { KObject } from '../../api/types.js';
import { deploymentFailure, podFailure } from '../../runtime/kubernetes/pod-status.js';
import { bindPodSpec } from '../pod-env.js';
import { sinkEnv } from '../sink-env.js';
import type { SourcePlan } from '../source-reconciler.js';
import type { DeployState } from '../status.js';

/** Knative's label naming the source of a ContainerSource's Deployment and Pods. */
export const CONTAINER_SOURCE_LABEL = 'sources.knative.dev/containerSource';
/** Knative's label naming the controller of a source's objects. */
export const SOURCE_CONTROLLER_LABEL = 'sources.knative.dev/source';
export const CONTAINER_SOURCE_CONTROLLER = 'container-source-controller';

/** What a Kubernetes runner needs: the Deployment to keep in the cluster. JSON-serialisable (the restart signature). */
export interface KubeContainerRunSpec {
  namespace: string;
  name: string;
  deployment: V1Deployment;
}

/** `heartbeat` → `heartbeat-deployment` (Knative's name). */
export function containerSourceDeploymentName(source: string): string {
  return `${source}-deployment`;
}

/** Knative's labels of a ContainerSource's Deployment (its selector) and Pods. */
export function containerSourceLabels(source: string): Record<string, string> {
  return { [SOURCE_CONTROLLER_LABEL]: CONTAINER_SOURCE_CONTROLLER, [CONTAINER_SOURCE_LABEL]: source };
}

/** The ownerReference that makes the ContainerSource the Deployment's controller; none without a uid. */
export function containerSourceOwner(source: KObject): V1OwnerReference[] | undefined {
  const uid = source.metadata.uid;
  if (uid === undefined || uid === '') return undefined;
  return [{ apiVersion: source.apiVersion, kind: source.kind, name: source.metadata.name, uid, controller: true, blockOwnerDeletion: true }];
}

/** Whether `deployment` is controlled by the source with this uid (Knative: `metav1.IsControlledBy`). */
export function isControlledBy(deployment: V1Deployment, uid: string | undefined): boolean {
  const controller = (deployment.metadata?.ownerReferences ?? []).find((o) => o.controller === true);
  return uid !== undefined && controller?.uid === uid;
}

/** The source's Deployment with `K_SINK` = `sinkUri` (and `K_CE_OVERRIDES` when `spec.ceOverrides` is set). */
export function buildContainerSourceDeployment(source: KObject, sinkUri: string): V1Deployment {
  const spec = (source.spec ?? {}) as ContainerSourceSpec;
  const { namespace, name } = source.metadata;
  const labels = containerSourceLabels(name);
  const template = spec.template ?? {};
  const annotations = template.metadata?.annotations;
  const owners = containerSourceOwner(source);
  const podSpec = bindPodSpec((template.spec ?? {}) as V1PodSpec, sinkEnv(sinkUri, spec.ceOverrides));
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: containerSourceDeploymentName(name), namespace, labels: { ...labels }, ...(owners && { ownerReferences: owners }) },
    spec: {
      selector: { matchLabels: { ...labels } },
      template: {
        // The template's own labels, and Knative's (which win: the selector must match).
        metadata: {
          labels: { ...(template.metadata?.labels ?? {}), ...labels },
          ...(annotations !== undefined && Object.keys(annotations).length > 0 && { annotations: { ...annotations } }),
        },
        spec: podSpec,
      },
    },
  };
}

/** The Deployment of a ContainerSource whose sink resolved to `sinkUri`, or why there is none. */
export function planKubeContainerSource(source: KObject, sinkUri: string): SourcePlan<KubeContainerRunSpec> {
  const containers = ((source.spec ?? {}) as ContainerSourceSpec).template?.spec?.containers ?? [];
  if (containers.length === 0) return { problem: { reason: 'InvalidTemplate', message: 'spec.template.spec.containers: want at least one container' } };
  const { namespace, name } = source.metadata;
  return { runSpec: { namespace, name, deployment: buildContainerSourceDeployment(source, sinkUri) } };
}

/** What the cluster shows of one ContainerSource's Deployment. */
export interface ObservedContainerSource {
  /** Whether the Deployments and Pods of ContainerSources have been listed once. */
  synced: boolean;
  deployment?: V1Deployment | undefined;
  pods: readonly V1Pod[];
  /** The API refused the Deployment (or it belongs to someone else): wins until a write succeeds. */
  apiFailure?: { reason: string; message: string } | undefined;
}

function isAvailable(d: V1Deployment): boolean {
  return (d.status?.conditions ?? []).some((c) => c.type === 'Available' && c.status === 'True');
}

/**
 * The source's `Deployed` state: True once its Deployment is Available (Knative's `DeploymentIsAvailable`); False
 * with the reason of a Pod that cannot start or crashes (`ExitCode1`, `CrashLoopBackOff`, `ErrImagePull`...) or of
 * the Deployment (`ProgressDeadlineExceeded`), or of the API's refusal; Unknown while it is on its way.
 */
export function containerSourceHealth(o: ObservedContainerSource, deploymentName: string): DeployState {
  if (o.apiFailure) return { kind: 'not-running', ...o.apiFailure };
  if (!o.synced) return { kind: 'pending', reason: 'Listing', message: 'Waiting for the first list of Deployments and Pods.' };
  const d = o.deployment;
  if (!d) return { kind: 'pending', reason: 'DeploymentCreating', message: `Creating Deployment "${deploymentName}".` };
  if (isAvailable(d)) return { kind: 'running' };
  const failure = podFailure(o.pods) ?? deploymentFailure(d);
  if (failure) return { kind: 'not-running', reason: failure.reason, message: failure.message };
  const ready = d.status?.readyReplicas ?? 0;
  const want = d.spec?.replicas ?? 1;
  return { kind: 'pending', reason: 'DeploymentUnavailable', message: `The Deployment "${deploymentName}" is unavailable: ${ready} of ${want} replicas ready.` };
}
