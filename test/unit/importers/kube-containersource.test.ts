import type { V1Deployment, V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { KObject } from '../../../src/api/types.js';
import {
  buildContainerSourceDeployment,
  containerSourceHealth,
  isControlledBy,
  planKubeContainerSource,
} from '../../../src/importers/container/kube-plan.js';
import { deploymentUpdate } from '../../../src/runtime/kubernetes/objects.js';

const SINK = 'http://10.244.0.1:8080/default/event-display';

/** The Knative docs' heartbeat ContainerSource, as the API server returns it (uid, generation). */
function source(over: { ceOverrides?: Record<string, string>; containers?: Record<string, unknown>[]; labels?: Record<string, string> } = {}): KObject {
  return {
    apiVersion: 'sources.knative.dev/v1',
    kind: 'ContainerSource',
    metadata: { name: 'heartbeat-source', namespace: 'default', uid: 'uid-1', generation: 1 },
    spec: {
      template: {
        ...(over.labels && { metadata: { labels: over.labels, annotations: { team: 'a' } } }),
        spec: {
          containers: over.containers ?? [{ name: 'heartbeats', image: 'gcr.io/knative-nightly/knative.dev/eventing/cmd/heartbeats:latest', env: [{ name: 'POD_NAME', value: 'x' }] }],
          serviceAccountName: 'heartbeats',
        },
      },
      sink: { ref: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: 'event-display' } },
      ...(over.ceOverrides && { ceOverrides: { extensions: over.ceOverrides } }),
    },
  };
}

const envOf = (d: V1Deployment, i = 0) => d.spec?.template.spec?.containers[i]?.env;

describe('ContainerSource on Kubernetes: the Deployment (pure)', () => {
  it("is Knative's <source>-deployment: its labels and selector, owned by the source, the template's pod spec", () => {
    const d = buildContainerSourceDeployment(source({ labels: { app: 'beat', 'sources.knative.dev/containerSource': 'spoofed' } }), SINK);
    const labels = { 'sources.knative.dev/source': 'container-source-controller', 'sources.knative.dev/containerSource': 'heartbeat-source' };
    expect(d.metadata).toEqual({
      name: 'heartbeat-source-deployment',
      namespace: 'default',
      labels,
      ownerReferences: [{ apiVersion: 'sources.knative.dev/v1', kind: 'ContainerSource', name: 'heartbeat-source', uid: 'uid-1', controller: true, blockOwnerDeletion: true }],
    });
    expect(d.spec?.selector).toEqual({ matchLabels: labels });
    // The template's labels and annotations pass, Knative's labels win (the selector must match the Pods).
    expect(d.spec?.template.metadata).toEqual({ labels: { app: 'beat', ...labels }, annotations: { team: 'a' } });
    expect(d.spec?.template.spec?.serviceAccountName).toBe('heartbeats');
    expect(d.spec?.replicas).toBeUndefined();
  });

  it('puts K_SINK (and K_CE_OVERRIDES with ceOverrides) after the container env, in every container; a K_SINK of its own is replaced', () => {
    const plain = buildContainerSourceDeployment(source(), SINK);
    expect(envOf(plain)).toEqual([
      { name: 'POD_NAME', value: 'x' },
      { name: 'K_SINK', value: SINK },
    ]);
    const two = buildContainerSourceDeployment(
      source({
        ceOverrides: { origin: 'heartbeat' },
        containers: [
          { name: 'a', image: 'a', env: [{ name: 'K_SINK', value: 'http://stale' }, { name: 'X', value: '1' }] },
          { name: 'b', image: 'b' },
        ],
      }),
      SINK,
    );
    const overrides = { name: 'K_CE_OVERRIDES', value: '{"extensions":{"origin":"heartbeat"}}' };
    expect(envOf(two, 0)).toEqual([{ name: 'X', value: '1' }, { name: 'K_SINK', value: SINK }, overrides]);
    expect(envOf(two, 1)).toEqual([{ name: 'K_SINK', value: SINK }, overrides]);
  });

  it('a new sink changes only the env, and the runtime\'s update rolls it with the replica count kept', () => {
    const first = buildContainerSourceDeployment(source(), SINK);
    const inCluster: V1Deployment = { ...first, spec: { ...first.spec!, replicas: 3 }, status: { availableReplicas: 3 } };
    expect(deploymentUpdate(inCluster, buildContainerSourceDeployment(source(), SINK))).toBeUndefined();
    const moved = deploymentUpdate(inCluster, buildContainerSourceDeployment(source(), 'http://10.244.0.1:8081/default/default'));
    expect(moved?.spec?.replicas).toBe(3);
    expect(envOf(moved!)).toContainEqual({ name: 'K_SINK', value: 'http://10.244.0.1:8081/default/default' });
  });

  it('plans a template with at least one container; an empty one is InvalidTemplate', () => {
    const ok = planKubeContainerSource(source(), SINK);
    expect('runSpec' in ok && ok.runSpec.deployment.metadata?.name).toBe('heartbeat-source-deployment');
    expect(planKubeContainerSource(source({ containers: [] }), SINK)).toEqual({
      problem: { reason: 'InvalidTemplate', message: 'spec.template.spec.containers: want at least one container' },
    });
  });

  it('takes over only a Deployment it controls', () => {
    const d = buildContainerSourceDeployment(source(), SINK);
    expect(isControlledBy(d, 'uid-1')).toBe(true);
    expect(isControlledBy(d, 'uid-2')).toBe(false);
    expect(isControlledBy({ metadata: { name: 'x' } }, 'uid-1')).toBe(false);
  });
});

describe('ContainerSource on Kubernetes: Deployed from the cluster (pure)', () => {
  const name = 'heartbeat-source-deployment';
  const deployment = (available: boolean, extra: Partial<NonNullable<V1Deployment['status']>> = {}): V1Deployment => ({
    metadata: { name },
    spec: { replicas: 1, selector: {}, template: {} },
    status: { conditions: [{ type: 'Available', status: available ? 'True' : 'False' }], ...extra },
  });
  const crashing: V1Pod = {
    metadata: { name: 'heartbeat-source-deployment-abc' },
    status: {
      phase: 'Running',
      containerStatuses: [
        {
          name: 'heartbeats',
          image: 'x',
          imageID: '',
          ready: false,
          restartCount: 2,
          state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off' } },
          lastState: { terminated: { exitCode: 1, message: 'K_SINK is not set' } },
        },
      ],
    },
  };

  it('is True once the Deployment is Available', () => {
    expect(containerSourceHealth({ synced: true, deployment: deployment(true), pods: [] }, name)).toEqual({ kind: 'running' });
  });

  it('is Unknown while listing, creating or rolling out, and says where it stands', () => {
    expect(containerSourceHealth({ synced: false, pods: [] }, name).kind).toBe('pending');
    expect(containerSourceHealth({ synced: true, pods: [] }, name)).toEqual({ kind: 'pending', reason: 'DeploymentCreating', message: `Creating Deployment "${name}".` });
    expect(containerSourceHealth({ synced: true, deployment: deployment(false, { readyReplicas: 0 }), pods: [] }, name)).toEqual({
      kind: 'pending',
      reason: 'DeploymentUnavailable',
      message: `The Deployment "${name}" is unavailable: 0 of 1 replicas ready.`,
    });
  });

  it("is False with a crashing Pod's exit, or with the API's refusal", () => {
    expect(containerSourceHealth({ synced: true, deployment: deployment(false), pods: [crashing] }, name)).toEqual({
      kind: 'not-running',
      reason: 'ExitCode1',
      message: 'Container failed with: K_SINK is not set',
    });
    const refused = { reason: 'DeploymentFailed', message: 'create Deployment default/x: HTTP 422: invalid' };
    expect(containerSourceHealth({ synced: true, deployment: deployment(true), pods: [], apiFailure: refused }, name)).toEqual({ kind: 'not-running', ...refused });
  });
});
