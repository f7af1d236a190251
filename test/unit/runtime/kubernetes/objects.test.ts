import { describe, expect, it } from 'vitest';
import type { RevisionWorkload } from '../../../../src/runtime/types.js';
import {
  buildDeployment,
  buildService,
  covers,
  deploymentName,
  deploymentUpdate,
  parseRevisionKey,
  serviceUpdate,
} from '../../../../src/runtime/kubernetes/objects.js';

function workload(over: Partial<RevisionWorkload> = {}): RevisionWorkload {
  const container = over.container ?? { image: 'example.com/hello', env: [{ name: 'GREETING', value: 'hi' }] };
  return {
    key: 'default/hello-00001',
    namespace: 'default',
    service: 'hello',
    configuration: 'hello',
    revision: 'hello-00001',
    revisionUid: 'uid-1',
    labels: { 'serving.knative.dev/route': 'hello', team: 'blue' },
    annotations: { 'autoscaling.knative.dev/target': '10' },
    container,
    containers: [container],
    baseDir: '/tmp',
    timeoutSeconds: 300,
    ...over,
  };
}

describe('Deployment and Service of a revision', () => {
  it('names, labels, selector, 0 replicas, owner, grace period, progress deadline', () => {
    const d = buildDeployment(workload({ progressDeadlineSeconds: 120 }));
    expect(deploymentName('hello-00001')).toBe('hello-00001-deployment');
    expect(d.metadata?.name).toBe('hello-00001-deployment');
    expect(d.metadata?.namespace).toBe('default');
    const labels = {
      team: 'blue',
      'serving.knative.dev/route': 'hello',
      'serving.knative.dev/revision': 'hello-00001',
      'serving.knative.dev/service': 'hello',
      'serving.knative.dev/configuration': 'hello',
      'serving.knative.dev/revisionUID': 'uid-1',
    };
    expect(d.metadata?.labels).toEqual(labels);
    expect(d.spec?.template.metadata?.labels).toEqual(labels);
    expect(d.spec?.template.metadata?.annotations).toEqual({ 'autoscaling.knative.dev/target': '10' });
    expect(d.spec?.selector).toEqual({ matchLabels: { 'serving.knative.dev/revision': 'hello-00001' } });
    expect(d.spec?.replicas).toBe(0);
    expect(d.spec?.progressDeadlineSeconds).toBe(120);
    expect(d.spec?.template.spec?.terminationGracePeriodSeconds).toBe(300);
    expect(d.metadata?.ownerReferences).toEqual([
      { apiVersion: 'serving.knative.dev/v1', kind: 'Revision', name: 'hello-00001', uid: 'uid-1', controller: true, blockOwnerDeletion: true },
    ]);
  });

  it('the serving container: image, default port 8080, PORT and K_* first, user env, workload env last, a TCP readiness probe', () => {
    const d = buildDeployment(workload({ env: { K_SINK: 'http://sink', GREETING: 'overridden' } }));
    const [c] = d.spec?.template.spec?.containers ?? [];
    expect(c).toMatchObject({ name: 'user-container', image: 'example.com/hello', ports: [{ name: 'user-port', containerPort: 8080 }] });
    expect(c?.command).toBeUndefined();
    expect(c?.args).toBeUndefined();
    expect(c?.env).toEqual([
      { name: 'PORT', value: '8080' },
      { name: 'K_SERVICE', value: 'hello' },
      { name: 'K_CONFIGURATION', value: 'hello' },
      { name: 'K_REVISION', value: 'hello-00001' },
      { name: 'GREETING', value: 'overridden' },
      { name: 'K_SINK', value: 'http://sink' },
    ]);
    expect(c?.readinessProbe).toEqual({ tcpSocket: { port: 8080 }, periodSeconds: 1 });
  });

  it('a declared port, command/args when given, the user probe with the port filled in, sidecars', () => {
    const main = {
      name: 'app',
      image: 'example.com/app',
      command: ['node', 'server.js'],
      args: ['--fast'],
      ports: [{ containerPort: 9000 }],
      readinessProbe: { httpGet: { path: '/healthz' }, periodSeconds: 2 },
    };
    const side = { name: 'proxy', image: 'example.com/proxy', env: [{ name: 'EMPTY', value: '' }] };
    const w = workload({ container: main, containers: [main, side] });
    const d = buildDeployment(w);
    const [c, s] = d.spec?.template.spec?.containers ?? [];
    expect(c).toMatchObject({ name: 'app', command: ['node', 'server.js'], args: ['--fast'], ports: [{ containerPort: 9000 }] });
    expect(c?.env?.[0]).toEqual({ name: 'PORT', value: '9000' });
    expect(c?.readinessProbe).toEqual({ httpGet: { path: '/healthz', port: 9000 }, periodSeconds: 2 });
    expect(s?.name).toBe('proxy');
    expect(s?.readinessProbe).toBeUndefined();
    expect(s?.env?.some((e) => e.name === 'PORT')).toBe(false);
    expect(s?.env?.find((e) => e.name === 'EMPTY')).toEqual({ name: 'EMPTY' });
    const svc = buildService(w);
    expect(svc?.metadata?.name).toBe('hello-00001');
    expect(svc?.spec?.ports).toEqual([{ name: 'http', port: 80, targetPort: 9000, protocol: 'TCP' }]);
    expect(svc?.spec?.selector).toEqual({ 'serving.knative.dev/revision': 'hello-00001' });
    expect(svc?.metadata?.ownerReferences?.[0]?.uid).toBe('uid-1');
  });

  it('no owner without a uid; a workload that does not listen gets no PORT, K_*, probe or Service', () => {
    const w = workload({ revisionUid: undefined, listens: false, env: { K_SINK: 'http://sink' } });
    const d = buildDeployment(w);
    expect(d.metadata?.ownerReferences).toBeUndefined();
    expect(d.metadata?.labels?.['serving.knative.dev/revisionUID']).toBeUndefined();
    const [c] = d.spec?.template.spec?.containers ?? [];
    expect(c?.env).toEqual([
      { name: 'GREETING', value: 'hi' },
      { name: 'K_SINK', value: 'http://sink' },
    ]);
    expect(c?.readinessProbe).toBeUndefined();
    expect(c?.ports).toBeUndefined();
    expect(buildService(w)).toBeUndefined();
  });

  it('parses revision keys', () => {
    expect(parseRevisionKey('ns/rev')).toEqual({ namespace: 'ns', revision: 'rev' });
    expect(parseRevisionKey('rev')).toBeUndefined();
    expect(parseRevisionKey('/rev')).toBeUndefined();
  });
});

describe('updates only what differs', () => {
  it('covers: subsets of objects, equal-length arrays, equal scalars, empty = absent', () => {
    expect(covers({ a: 1, b: { c: 2, d: 3 } }, { b: { c: 2 } })).toBe(true);
    expect(covers({ a: 1 }, { a: 2 })).toBe(false);
    expect(covers([{ a: 1, x: 1 }], [{ a: 1 }])).toBe(true);
    expect(covers([{ a: 1 }, { a: 2 }], [{ a: 1 }])).toBe(false);
    expect(covers(undefined, {})).toBe(true);
    expect(covers(undefined, [])).toBe(true);
    expect(covers(undefined, { a: 1 })).toBe(false);
    expect(covers({ a: 1 }, undefined)).toBe(true);
  });

  /** What the API server returns: defaulted fields, others' annotations, the autoscaler's replicas. */
  function asServed(d: ReturnType<typeof buildDeployment>, replicas: number): ReturnType<typeof buildDeployment> {
    const served = structuredClone(d);
    served.metadata = { ...served.metadata, resourceVersion: '42', uid: 'd-uid', annotations: { ...served.metadata?.annotations, 'deployment.kubernetes.io/revision': '1' } };
    served.spec = { ...served.spec!, replicas, revisionHistoryLimit: 10, strategy: { type: 'RollingUpdate' } };
    served.spec.template.spec!.restartPolicy = 'Always';
    served.spec.template.spec!.dnsPolicy = 'ClusterFirst';
    for (const c of served.spec.template.spec!.containers) {
      c.imagePullPolicy = 'IfNotPresent';
      c.terminationMessagePath = '/dev/termination-log';
      for (const p of c.ports ?? []) p.protocol = 'TCP';
      if (c.readinessProbe) Object.assign(c.readinessProbe, { timeoutSeconds: 1, successThreshold: 1, failureThreshold: 3 });
    }
    served.status = { replicas, readyReplicas: replicas };
    return served;
  }

  it('a defaulted Deployment as served needs no update', () => {
    const want = buildDeployment(workload());
    expect(deploymentUpdate(asServed(want, 3), want)).toBeUndefined();
  });

  it('a changed template is replaced; replicas, resourceVersion and others annotations are kept', () => {
    const served = asServed(buildDeployment(workload()), 3);
    const want = buildDeployment(workload({ container: { image: 'example.com/hello:v2' }, labels: { team: 'red' } }));
    const upd = deploymentUpdate(served, want);
    expect(upd).toBeDefined();
    expect(upd?.spec?.replicas).toBe(3);
    expect(upd?.metadata?.resourceVersion).toBe('42');
    expect(upd?.metadata?.annotations?.['deployment.kubernetes.io/revision']).toBe('1');
    expect(upd?.metadata?.labels?.team).toBe('red');
    expect(upd?.spec?.template).toEqual(want.spec?.template);
    expect(upd?.spec?.revisionHistoryLimit).toBe(10);
  });

  it('a Service: clusterIP kept, ports replaced when they differ', () => {
    const want = buildService(workload())!;
    const served = structuredClone(want);
    served.spec = { ...served.spec, clusterIP: '10.0.0.7', type: 'ClusterIP', sessionAffinity: 'None' };
    expect(serviceUpdate(served, want)).toBeUndefined();
    const want2 = buildService(workload({ container: { image: 'x', ports: [{ containerPort: 9999 }] } }))!;
    const upd = serviceUpdate(served, want2);
    expect(upd?.spec?.clusterIP).toBe('10.0.0.7');
    expect(upd?.spec?.ports?.[0]?.targetPort).toBe(9999);
  });
});

describe("a revision container's resources (its own and config-defaults')", () => {
  it('go into the Deployment; none set, no resources field', () => {
    const c = { image: 'example.com/hello', resources: { requests: { cpu: '400m' }, limits: { memory: '200M' } } };
    const d = buildDeployment(workload({ container: c, containers: [c] }));
    expect(d.spec?.template.spec?.containers[0]?.resources).toEqual({ requests: { cpu: '400m' }, limits: { memory: '200M' } });
    expect(buildDeployment(workload()).spec?.template.spec?.containers[0]).not.toHaveProperty('resources');
  });

  it('a quantity the API server spells canonically (1000m as 1) is no change; another value is', () => {
    const c = { image: 'example.com/hello', resources: { requests: { cpu: '1000m', memory: '1024Mi' } } };
    const want = buildDeployment(workload({ container: c, containers: [c] }));
    const stored = structuredClone(want);
    stored.spec!.template.spec!.containers[0]!.resources = { requests: { cpu: '1', memory: '1Gi' } };
    expect(deploymentUpdate(stored, want)).toBeUndefined();
    stored.spec!.template.spec!.containers[0]!.resources = { requests: { cpu: '2', memory: '1Gi' } };
    expect(deploymentUpdate(stored, want)?.spec?.template.spec?.containers[0]?.resources).toEqual({ requests: { cpu: '1000m', memory: '1024Mi' } });
  });
});
