import { describe, expect, it } from 'vitest';
import type { KObject } from '../../../src/api/types.js';
import { kindByName, type KindInfo } from '../../../src/api/kinds.js';
import { Store } from '../../../src/control/store.js';
import { jobEnvExpression, jobPolicyObjects } from '../../../src/importers/binding/job-policy.js';
import { ksvcSubjects, planKubeBinding } from '../../../src/importers/binding/kube-reconciler.js';
import {
  BOUND_BY_ANNOTATION,
  bindingHealth,
  DEPLOYMENT_SUBJECT,
  isBoundTo,
  JOB_SUBJECT,
  subjectObject,
  workloadPatch,
  type Workload,
} from '../../../src/importers/binding/kube-subjects.js';
import { bindingFor, bindsTo } from '../../../src/importers/binding/subject.js';
import { bindPodSpec, podSpecHasSinkEnv, unbindPodSpec } from '../../../src/importers/pod-env.js';

const SINK = 'http://10.244.0.1:8081/default/default';
const ENV = { K_SINK: SINK, K_CE_OVERRIDES: '{"extensions":{"origin":"pub"}}' };

describe('K_SINK and K_CE_OVERRIDES in a pod spec (pure)', () => {
  const spec = {
    initContainers: [{ name: 'init', env: [{ name: 'K_SINK', value: 'http://old' }] }],
    containers: [
      { name: 'app', env: [{ name: 'A', value: '1' }, { name: 'K_CE_OVERRIDES', value: '{}' }] },
      { name: 'sidecar', image: 'x' },
    ],
  };

  it('sets them in every container and init container, after the container env, replacing its own', () => {
    const bound = bindPodSpec(spec, ENV);
    expect(bound.containers?.[0]?.env).toEqual([{ name: 'A', value: '1' }, { name: 'K_SINK', value: SINK }, { name: 'K_CE_OVERRIDES', value: ENV.K_CE_OVERRIDES }]);
    expect(bound.containers?.[1]).toEqual({ name: 'sidecar', image: 'x', env: [{ name: 'K_SINK', value: SINK }, { name: 'K_CE_OVERRIDES', value: ENV.K_CE_OVERRIDES }] });
    expect(bound.initContainers?.[0]?.env).toEqual([{ name: 'K_SINK', value: SINK }, { name: 'K_CE_OVERRIDES', value: ENV.K_CE_OVERRIDES }]);
    expect(podSpecHasSinkEnv(bound, ENV)).toBe(true);
    expect(podSpecHasSinkEnv(bound, { K_SINK: SINK })).toBe(false);
    expect(podSpecHasSinkEnv(spec, ENV)).toBe(false);
    // The input is left as it was.
    expect(spec.containers[1]).toEqual({ name: 'sidecar', image: 'x' });
  });

  it('removes them from every container and keeps the rest (Knative\'s Undo); a container left without env has none', () => {
    const unbound = unbindPodSpec(bindPodSpec(spec, ENV));
    expect(unbound.containers?.[0]?.env).toEqual([{ name: 'A', value: '1' }]);
    expect(unbound.containers?.[1]).toEqual({ name: 'sidecar', image: 'x' });
    expect(unbound.initContainers?.[0]).toEqual({ name: 'init' });
    expect(podSpecHasSinkEnv(unbound, {})).toBe(true);
  });
});

const deployment = (over: { labels?: Record<string, string>; annotations?: Record<string, string>; env?: { name: string; value: string }[] } = {}): Workload => ({
  metadata: { name: 'publisher', namespace: 'default', resourceVersion: '42', labels: over.labels ?? { app: 'publisher' }, ...(over.annotations && { annotations: over.annotations }) },
  spec: { template: { spec: { containers: [{ name: 'app', env: over.env ?? [{ name: 'A', value: '1' }] }] } } },
});

const binding = (name: string, subject: Record<string, unknown>, status?: { sinkUri?: string }): KObject => ({
  apiVersion: 'sources.knative.dev/v1',
  kind: 'SinkBinding',
  metadata: { name, namespace: 'default', generation: 1 },
  spec: { subject: { apiVersion: 'apps/v1', kind: 'Deployment', ...subject }, sink: { uri: SINK }, ceOverrides: { extensions: { origin: 'pub' } } },
  ...(status && { status: { observedGeneration: 1, ...status } }),
});

describe('SinkBinding subjects on Kubernetes (pure)', () => {
  it('selects a Deployment by name or by label selector, of the kind the subject names', () => {
    const d = subjectObject(DEPLOYMENT_SUBJECT, deployment());
    expect(bindsTo(binding('b', { name: 'publisher' }), d)).toBe(true);
    expect(bindsTo(binding('b', { selector: { matchLabels: { app: 'publisher' } } }), d)).toBe(true);
    expect(bindsTo(binding('b', { selector: { matchLabels: { app: 'other' } } }), d)).toBe(false);
    expect(bindsTo(binding('b', { apiVersion: 'batch/v1', kind: 'Job', name: 'publisher' }), d)).toBe(false);
    expect(bindsTo(binding('b', { apiVersion: 'batch/v1', kind: 'Job', name: 'publisher' }), subjectObject(JOB_SUBJECT, deployment()))).toBe(true);
  });

  it('binds with a merge patch of the containers and the annotation, carrying the resourceVersion; nothing when already bound', () => {
    const want = { name: 'bind-publisher', env: ENV };
    const patch = workloadPatch(deployment(), want, DEPLOYMENT_SUBJECT);
    expect(patch).toEqual({
      metadata: { resourceVersion: '42', annotations: { [BOUND_BY_ANNOTATION]: 'bind-publisher' } },
      spec: { template: { spec: { containers: [{ name: 'app', env: [{ name: 'A', value: '1' }, { name: 'K_SINK', value: SINK }, { name: 'K_CE_OVERRIDES', value: ENV.K_CE_OVERRIDES }] }] } } },
    });
    const bound: Workload = { ...deployment({ annotations: { [BOUND_BY_ANNOTATION]: 'bind-publisher' } }), spec: { template: { spec: patch!.spec.template.spec } } };
    expect(isBoundTo(bound, want, DEPLOYMENT_SUBJECT)).toBe(true);
    expect(workloadPatch(bound, want, DEPLOYMENT_SUBJECT)).toBeUndefined();
    // A new sink is a new patch.
    expect(workloadPatch(bound, { name: 'bind-publisher', env: { K_SINK: 'http://elsewhere' } }, DEPLOYMENT_SUBJECT)?.spec.template.spec.containers?.[0]?.env).toEqual([
      { name: 'A', value: '1' },
      { name: 'K_SINK', value: 'http://elsewhere' },
    ]);
  });

  it('unbinds only a workload Wisp bound (its annotation): the env and the annotation go; a K_SINK of the user\'s own stays', () => {
    const own = deployment({ env: [{ name: 'K_SINK', value: 'http://mine' }] });
    expect(workloadPatch(own, undefined, DEPLOYMENT_SUBJECT)).toBeUndefined();
    const marked = deployment({ annotations: { [BOUND_BY_ANNOTATION]: 'b' }, env: [{ name: 'A', value: '1' }, { name: 'K_SINK', value: SINK }] });
    expect(workloadPatch(marked, undefined, DEPLOYMENT_SUBJECT)).toEqual({
      metadata: { resourceVersion: '42', annotations: { [BOUND_BY_ANNOTATION]: null } },
      spec: { template: { spec: { containers: [{ name: 'app', env: [{ name: 'A', value: '1' }] }] } } },
    });
  });

  it('never patches a Job (its pod template is immutable); one created with the env counts as bound', () => {
    const job: Workload = { ...deployment(), spec: { template: { spec: bindPodSpec({ containers: [{ name: 'app' }] }, ENV) } } };
    expect(workloadPatch(deployment(), { name: 'b', env: ENV }, JOB_SUBJECT)).toBeUndefined();
    expect(isBoundTo(job, { name: 'b', env: ENV }, JOB_SUBJECT)).toBe(true);
    expect(isBoundTo(deployment(), { name: 'b', env: ENV }, JOB_SUBJECT)).toBe(false);
  });

  it('takes the env from the binding with a resolved sink, the last by name; unsettled while a binding is not reconciled', () => {
    const d = subjectObject(DEPLOYMENT_SUBJECT, deployment());
    expect(bindingFor(d, [binding('a', { name: 'publisher' }, { sinkUri: 'http://a' }), binding('b', { name: 'publisher' }, { sinkUri: SINK })])).toEqual({
      binding: { name: 'b', env: ENV },
      settled: true,
    });
    expect(bindingFor(d, [binding('a', { name: 'publisher' }, {})])).toEqual({ settled: true });
    expect(bindingFor(d, [binding('a', { name: 'publisher' })]).settled).toBe(false);
  });

  it('says how many subjects were bound, which are on their way, and why one cannot be', () => {
    expect(bindingHealth({ subjects: [{ what: 'Deployment default/a', bound: true }, { what: 'Deployment default/b', bound: true }] })).toEqual({
      kind: 'running',
      message: 'bound 2 subjects',
    });
    expect(bindingHealth({ subjects: [] })).toEqual({ kind: 'running', message: 'bound 0 subjects' });
    expect(bindingHealth({ subjects: [{ what: 'Deployment default/a', bound: true }, { what: 'Deployment default/b', bound: false }] })).toEqual({
      kind: 'pending',
      reason: 'Binding',
      message: 'binding 2 subjects: 1 bound so far',
    });
    expect(bindingHealth({ subjects: [{ what: 'Job default/j', bound: false, problem: 'immutable' }] })).toEqual({
      kind: 'not-running',
      reason: 'BindingFailed',
      message: 'bound 0 of 1 subject; Job default/j: immutable',
    });
    expect(bindingHealth({ subjects: [], missing: 'apps/v1 Deployment "x" not found in namespace "default"' }).kind).toBe('not-running');
  });

  it('plans Deployments, Jobs and ksvcs; any other kind is SubjectUnsupported', () => {
    const ok = planKubeBinding(binding('b', { name: 'publisher' }), SINK);
    expect('runSpec' in ok && ok.runSpec.env).toEqual(ENV);
    expect(planKubeBinding(binding('b', { apiVersion: 'v1', kind: 'Pod', name: 'p' }), SINK)).toEqual({
      problem: { reason: 'SubjectUnsupported', message: 'cannot bind v1 Pod: Wisp binds apps/v1 Deployment, batch/v1 Job and serving.knative.dev/v1 Service' },
    });
  });
});

describe('SinkBinding ksvc subjects on Kubernetes: bound once the latest revision carries the env', () => {
  const SERVICES = kindByName('ksvc') as KindInfo;
  const REVISIONS = kindByName('revisions') as KindInfo;

  it('counts a Service whose latest created revision has K_SINK as bound, and names a missing one', async () => {
    const store = await Store.open();
    const b: KObject = { ...binding('b', { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: 'pub' }), metadata: { name: 'b', namespace: 'default', generation: 1 } };
    expect(ksvcSubjects(store, b, ENV)).toEqual({ subjects: [], missing: 'serving.knative.dev/v1 Service "pub" not found in namespace "default"' });
    await store.create({ apiVersion: 'serving.knative.dev/v1', kind: 'Service', metadata: { name: 'pub', namespace: 'default' }, spec: { template: { spec: { containers: [{ image: 'x' }] } } }, status: { latestCreatedRevisionName: 'pub-00001' } });
    await store.create({ apiVersion: 'serving.knative.dev/v1', kind: 'Revision', metadata: { name: 'pub-00001', namespace: 'default' }, spec: { containers: [{ image: 'x' }] } });
    expect(ksvcSubjects(store, b, ENV).subjects).toEqual([{ what: 'Service default/pub', bound: false }]);
    await store.updateStatus(SERVICES, 'default', 'pub', { latestCreatedRevisionName: 'pub-00002' });
    await store.create({ apiVersion: 'serving.knative.dev/v1', kind: 'Revision', metadata: { name: 'pub-00002', namespace: 'default' }, spec: { containers: [{ image: 'x', env: [{ name: 'K_SINK', value: SINK }, { name: 'K_CE_OVERRIDES', value: ENV.K_CE_OVERRIDES }] }] } });
    expect(store.get(REVISIONS, 'default', 'pub-00002')).toBeDefined();
    expect(ksvcSubjects(store, b, ENV).subjects).toEqual([{ what: 'Service default/pub', bound: true }]);
    await store.close();
  });
});

describe('SinkBinding of Jobs: the MutatingAdmissionPolicy that binds them as they are created (pure)', () => {
  const jobBinding = (subject: Record<string, unknown>): KObject => ({
    ...binding('bind-jobs', { apiVersion: 'batch/v1', kind: 'Job', ...subject }),
    metadata: { name: 'bind-jobs', namespace: 'team-a', generation: 1 },
  });

  it('matches Jobs created in the binding\'s namespace by its selector, and sets the env in every container by a CEL apply configuration', () => {
    const { policy, policyBinding } = jobPolicyObjects(jobBinding({ selector: { matchLabels: { app: 'batch' } } }), ENV);
    expect(policy.metadata).toEqual({
      name: 'wisp-sinkbinding.team-a.bind-jobs',
      labels: { 'app.kubernetes.io/managed-by': 'wisp', 'wisp.dev/sinkbinding-namespace': 'team-a' },
      annotations: { 'wisp.dev/sinkbinding': 'team-a/bind-jobs' },
    });
    expect(policy.spec).toMatchObject({
      failurePolicy: 'Ignore',
      matchConstraints: {
        resourceRules: [{ apiGroups: ['batch'], apiVersions: ['v1'], operations: ['CREATE'], resources: ['jobs'] }],
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'team-a' } },
        objectSelector: { matchLabels: { app: 'batch' } },
      },
    });
    expect(policyBinding).toEqual({ apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingAdmissionPolicyBinding', metadata: policy.metadata, spec: { policyName: policy.metadata.name } });
    const expr = jobEnvExpression(ENV);
    expect(expr).toContain('object.spec.template.spec.containers.map(c, Object.spec.template.spec.containers{name: c.name, env: [');
    expect(expr).toContain(`Object.spec.template.spec.containers.env{name: "K_SINK", value: "${SINK}"}`);
    // The overrides' JSON is a CEL string literal, quotes escaped.
    expect(expr).toContain('Object.spec.template.spec.containers.env{name: "K_CE_OVERRIDES", value: "{\\"extensions\\":{\\"origin\\":\\"pub\\"}}"}');
    expect(expr).toMatch(/^has\(object\.spec\.template\.spec\.initContainers\) \? .*initContainers: object\.spec\.template\.spec\.initContainers\.map/);
  });

  it('matches a Job named by the subject in a match condition', () => {
    const { policy } = jobPolicyObjects(jobBinding({ name: 'nightly' }), { K_SINK: SINK });
    expect((policy.spec as { matchConditions?: unknown }).matchConditions).toEqual([{ name: 'subject-name', expression: 'object.metadata.name == "nightly"' }]);
    expect((policy.spec as { matchConstraints: Record<string, unknown> }).matchConstraints.objectSelector).toBeUndefined();
  });
});
