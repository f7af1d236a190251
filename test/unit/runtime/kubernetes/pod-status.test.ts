import type { V1Deployment, V1EndpointSlice, V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { deploymentFailure, deriveStatus, podCounts, podFailure, readyEndpoints } from '../../../../src/runtime/kubernetes/pod-status.js';

type Cs = NonNullable<NonNullable<V1Pod['status']>['containerStatuses']>[number];

function pod(name: string, opts: { ready?: boolean; cs?: Partial<Cs>[]; deleting?: boolean; phase?: string; conditions?: { type: string; status: string; reason?: string; message?: string }[] } = {}): V1Pod {
  return {
    metadata: { name, namespace: 'ns', ...(opts.deleting ? { deletionTimestamp: new Date() } : {}) },
    status: {
      phase: opts.phase ?? 'Running',
      conditions: [...(opts.conditions ?? []), { type: 'Ready', status: opts.ready ? 'True' : 'False' }],
      containerStatuses: (opts.cs ?? [{}]).map((c) => ({ name: 'user-container', image: 'i', imageID: '', ready: opts.ready ?? false, restartCount: 0, ...c })),
    },
  } as V1Pod;
}

function slice(name: string, endpoints: { pod: string; ip: string; ready: boolean; terminating?: boolean }[], port = 8080, addressType = 'IPv4'): V1EndpointSlice {
  return {
    metadata: { name, namespace: 'ns' },
    addressType,
    ports: [{ name: 'http', port, protocol: 'TCP' }],
    endpoints: endpoints.map((e) => ({
      addresses: [e.ip],
      conditions: { ready: e.ready, serving: e.ready, terminating: e.terminating ?? false },
      targetRef: { kind: 'Pod', name: e.pod, namespace: 'ns' },
    })),
  };
}

describe('ready endpoints from EndpointSlices', () => {
  it('ready ones only, one per pod, the slice port, sorted by id; IPv4 wins over IPv6', () => {
    const eps = readyEndpoints([
      slice('s-b', [{ pod: 'p2', ip: '10.0.0.2', ready: true }, { pod: 'p3', ip: '10.0.0.3', ready: false }]),
      slice('s-a', [{ pod: 'p1', ip: '10.0.0.1', ready: true }, { pod: 'p4', ip: '10.0.0.4', ready: true, terminating: true }]),
      slice('s-6', [{ pod: 'p1', ip: 'fd00::1', ready: true }], 8080, 'IPv6'),
      slice('s-dup', [{ pod: 'p2', ip: '10.0.0.2', ready: true }]),
    ]);
    expect(eps).toEqual([
      { id: 'p1', host: '10.0.0.1', port: 8080 },
      { id: 'p2', host: '10.0.0.2', port: 8080 },
    ]);
    expect(readyEndpoints([{ metadata: { name: 'x' }, addressType: 'IPv4', endpoints: [{ addresses: ['1.2.3.4'], conditions: { ready: true } }] }])).toEqual([]);
  });
});

describe('counts from Pods', () => {
  it('starting = not ready and not terminating; restarts summed; ready pods', () => {
    const c = podCounts([
      pod('a', { ready: true, cs: [{ restartCount: 2 }] }),
      pod('b', { cs: [{ restartCount: 1 }, { name: 'side', restartCount: 4 }] }),
      pod('c', { deleting: true }),
      pod('d', { phase: 'Succeeded' }),
    ]);
    expect(c).toEqual({ starting: 1, restarts: 7, readyPods: 1 });
  });
});

describe('failure from Pods and the Deployment (as Knative reads them)', () => {
  it('a crash loop reads as its last exit: ExitCode<N> with Knative wording and the termination message', () => {
    const f = podFailure([
      pod('a', {
        cs: [{ restartCount: 3, state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 10s restarting failed container' } }, lastState: { terminated: { exitCode: 1, reason: 'Error', message: 'boom: cannot open config.yaml\n' } } }],
      }),
    ]);
    expect(f).toEqual({ reason: 'ExitCode1', message: 'Container failed with: boom: cannot open config.yaml' });
    const silent = podFailure([pod('a', { cs: [{ lastState: { terminated: { exitCode: 3, reason: 'Error' } }, state: { running: {} } }] })]);
    expect(silent).toEqual({ reason: 'ExitCode3', message: 'Container failed with: container "user-container" exited with code 3 (Error)' });
    const zero = podFailure([pod('a', { cs: [{ state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { exitCode: 0 } } }] })]);
    expect(zero).toEqual({ reason: 'ExitCode0', message: 'Container failed with: container exited with no error' });
    expect(podFailure([pod('a', { cs: [{ state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off' } } }] })])).toEqual({ reason: 'CrashLoopBackOff', message: 'back-off' });
  });

  it('image and config errors carry their reason and message', () => {
    for (const reason of ['ErrImagePull', 'ImagePullBackOff', 'CreateContainerConfigError', 'InvalidImageName']) {
      expect(podFailure([pod('a', { cs: [{ state: { waiting: { reason, message: `${reason}: nope` } } }] })])).toEqual({ reason, message: `${reason}: nope` });
    }
    expect(podFailure([pod('a', { cs: [{ state: { waiting: { reason: 'ContainerCreating' } } }] })])).toBeUndefined();
  });

  it('unschedulable pods; ready and terminating pods explain nothing', () => {
    const unsched = pod('a', { cs: [], conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/1 nodes are available' }] });
    unsched.status!.containerStatuses = undefined;
    expect(podFailure([unsched])).toEqual({ reason: 'Unschedulable', message: '0/1 nodes are available' });
    const crashed = { lastState: { terminated: { exitCode: 1 } } };
    expect(podFailure([pod('a', { ready: true, cs: [crashed] }), pod('b', { deleting: true, cs: [crashed] })])).toBeUndefined();
  });

  it('Deployment: ProgressDeadlineExceeded and ReplicaFailure', () => {
    const d = (conditions: { type: string; status: string; reason?: string; message?: string }[]): V1Deployment => ({ status: { conditions } });
    expect(deploymentFailure(d([{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: 'ReplicaSet "x" has timed out progressing.' }]))).toEqual({
      reason: 'ProgressDeadlineExceeded',
      message: 'ReplicaSet "x" has timed out progressing.',
    });
    expect(deploymentFailure(d([{ type: 'ReplicaFailure', status: 'True', reason: 'FailedCreate', message: 'forbidden: exceeded quota' }]))).toEqual({
      reason: 'FailedCreate',
      message: 'forbidden: exceeded quota',
    });
    expect(deploymentFailure(d([{ type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable' }]))).toBeUndefined();
    expect(deploymentFailure(undefined)).toBeUndefined();
  });
});

describe('deriveStatus', () => {
  const crashing = pod('a', { cs: [{ restartCount: 2, state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { exitCode: 1 } } }] });

  it('a failure shows while nothing is ready, is remembered, and goes when a replica is ready', () => {
    const first = deriveStatus({ desired: 1, listens: true, observed: { pods: [crashing], slices: [] } });
    expect(first.status).toMatchObject({ desired: 1, ready: [], starting: 1, restarts: 2, failure: { reason: 'ExitCode1' } });
    // Scaled to zero: the pods are gone, the failure stays.
    const later = deriveStatus({ desired: 0, listens: true, observed: { pods: [], slices: [] }, previousFailure: first.observedFailure });
    expect(later.status.failure?.reason).toBe('ExitCode1');
    const ready = deriveStatus({
      desired: 1,
      listens: true,
      observed: { pods: [pod('b', { ready: true })], slices: [slice('s', [{ pod: 'b', ip: '10.0.0.9', ready: true }])] },
      previousFailure: first.observedFailure,
    });
    expect(ready.status).toEqual({ desired: 1, ready: [{ id: 'b', host: '10.0.0.9', port: 8080 }], starting: 0, restarts: 0 });
    expect(ready.observedFailure).toBeUndefined();
  });

  it('an API refusal wins but is not remembered; a workload that does not listen counts running pods', () => {
    const api = { reason: 'DeploymentFailed', message: 'create Deployment ns/x: HTTP 422: invalid' };
    const r = deriveStatus({ desired: 0, listens: true, observed: { pods: [], slices: [] }, apiFailure: api });
    expect(r.status.failure).toEqual(api);
    expect(r.observedFailure).toBeUndefined();
    const src = deriveStatus({ desired: 1, listens: false, observed: { pods: [pod('a', { ready: true })], slices: [slice('s', [{ pod: 'a', ip: '1.1.1.1', ready: true }])] } });
    expect(src.status).toEqual({ desired: 1, ready: [], starting: 0, restarts: 0, running: 1 });
  });
});
