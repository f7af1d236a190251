import { describe, expect, it } from 'vitest';
import type { Service } from '../../../src/api/types.js';
import { formatInvalid, validate } from '../../../src/api/validate.js';

function svc(patch: (s: Record<string, any>) => void = () => {}): Record<string, any> {
  const s: Record<string, any> = {
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Service',
    metadata: { name: 'hello' },
    spec: { template: { spec: { containers: [{ command: ['node', 'server.js'] }] } } },
  };
  patch(s);
  return s;
}

const errorsOf = (obj: unknown): string[] => validate(obj).errors.map((e) => `${e.field}: ${e.message}`);

describe('validate: Service', () => {
  it('defaults what Knative defaults', () => {
    const { object, errors, warnings } = validate(svc());
    expect(errors).toEqual([]);
    expect(warnings).toEqual([]);
    const s = object as Service;
    expect(s.metadata.namespace).toBe('default');
    expect(s.spec?.template.spec).toEqual({ containers: [{ name: 'user-container', command: ['node', 'server.js'] }], containerConcurrency: 0, timeoutSeconds: 300 });
    expect(s.spec?.traffic).toEqual([{ latestRevision: true, percent: 100 }]);
  });

  it('requires exactly one container with an image or a command', () => {
    expect(errorsOf(svc((s) => delete s.spec.template.spec.containers))).toEqual(['spec.template.spec.containers: missing field(s)']);
    expect(errorsOf(svc((s) => (s.spec.template.spec.containers = [])))).toEqual(['spec.template.spec.containers: missing field(s)']);
    expect(errorsOf(svc((s) => s.spec.template.spec.containers.push({ image: 'x' })))).toEqual([
      'spec.template.spec.containers: expected exactly one container, got 2',
    ]);
    expect(errorsOf(svc((s) => (s.spec.template.spec.containers = [{ name: 'c' }])))[0]).toMatch(/^spec\.template\.spec\.containers\[0\]\.image: missing field\(s\)/);
    expect(errorsOf(svc((s) => (s.spec.template.spec.containers = [{ image: 'ghcr.io/x/y' }])))).toEqual([]);
  });

  it('bounds containerConcurrency and timeoutSeconds as Knative does', () => {
    expect(errorsOf(svc((s) => (s.spec.template.spec.containerConcurrency = -1)))).toEqual([
      'spec.template.spec.containerConcurrency: expected 0 <= -1 <= 1000',
    ]);
    expect(errorsOf(svc((s) => (s.spec.template.spec.containerConcurrency = 1001)))).toEqual([
      'spec.template.spec.containerConcurrency: expected 0 <= 1001 <= 1000',
    ]);
    expect(errorsOf(svc((s) => (s.spec.template.spec.timeoutSeconds = 601)))).toEqual(['spec.template.spec.timeoutSeconds: expected 0 <= 601 <= 600']);
    const zero = validate(svc((s) => (s.spec.template.spec.timeoutSeconds = 0))).object as Service;
    expect(zero.spec?.template.spec.timeoutSeconds).toBe(300);
  });

  it('reports shape errors with bracket paths', () => {
    expect(errorsOf(svc((s) => (s.spec.template.spec.containers[0].ports = [{ containerPort: '8080' }])))).toEqual([
      'spec.template.spec.containers[0].ports[0].containerPort: expected integer, got string',
    ]);
    expect(errorsOf(svc((s) => (s.metadata.labels = { a: 1 })))).toEqual(['metadata.labels.a: expected string, got integer']);
  });

  it('checks env names, ports and probe handlers', () => {
    const c = (patch: Record<string, unknown>) => svc((s) => Object.assign(s.spec.template.spec.containers[0], patch));
    expect(errorsOf(c({ env: [{ name: '1BAD', value: 'x' }] }))[0]).toMatch(/^spec\.template\.spec\.containers\[0\]\.env\[0\]\.name: invalid value "1BAD"/);
    expect(errorsOf(c({ env: [{ name: 'PORT', value: '1' }] }))).toEqual(['spec.template.spec.containers[0].env[0].name: "PORT" is a reserved environment variable']);
    expect(errorsOf(c({ ports: [{ containerPort: 8080 }, { containerPort: 9090 }] }))).toEqual([
      'spec.template.spec.containers[0].ports: more than one container port is set',
    ]);
    expect(errorsOf(c({ ports: [{ containerPort: 70000 }] }))).toEqual(['spec.template.spec.containers[0].ports[0].containerPort: expected 1 <= 70000 <= 65535']);
    expect(errorsOf(c({ readinessProbe: { httpGet: { path: '/' }, tcpSocket: {} } }))).toEqual([
      'spec.template.spec.containers[0].readinessProbe: expected exactly one, got httpGet, tcpSocket',
    ]);
  });

  it('checks the service name and the template name prefix', () => {
    expect(errorsOf(svc((s) => (s.metadata.name = 'Hello_World')))[0]).toMatch(/^metadata\.name: invalid value "Hello_World": a DNS-1035 label/);
    expect(errorsOf(svc((s) => (s.metadata.name = 'a'.repeat(58))))[0]).toMatch(/^metadata\.name: .*must be no more than 57 characters/);
    expect(errorsOf(svc((s) => (s.spec.template.metadata = { name: 'other-v1' })))).toEqual([
      'spec.template.metadata.name: "other-v1" must have prefix "hello-"',
    ]);
    expect(errorsOf(svc((s) => (s.spec.template.metadata = { name: 'hello-v1' })))).toEqual([]);
  });

  it('checks traffic: sum, bounds, pinning, tags', () => {
    const t = (traffic: unknown[]) => svc((s) => (s.spec.traffic = traffic));
    expect(errorsOf(t([{ latestRevision: true, percent: 90 }]))).toEqual(['spec.traffic: traffic targets sum to 90, want 100']);
    expect(errorsOf(t([{ revisionName: 'hello-00001', percent: 50 }, { percent: 50, tag: 'latest' }]))).toEqual([]);
    expect(errorsOf(t([{ latestRevision: false, percent: 100 }]))).toEqual(['spec.traffic[0].latestRevision: latestRevision: false needs a revisionName to pin traffic to']);
    expect(errorsOf(t([{ latestRevision: true, revisionName: 'hello-00001', percent: 100 }]))).toEqual([
      'spec.traffic[0].latestRevision: may not set revisionName "hello-00001" when latestRevision is true',
    ]);
    expect(errorsOf(t([{ percent: 101 }, { percent: -1 }]))).toEqual(['spec.traffic[0].percent: expected 0 <= 101 <= 100', 'spec.traffic[1].percent: expected 0 <= -1 <= 100']);
    expect(errorsOf(t([{ percent: 50, tag: 'a' }, { revisionName: 'hello-00001', percent: 50, tag: 'a' }]))).toEqual([
      'spec.traffic[1].tag: multiple definitions for "a" (also spec.traffic[0].tag)',
    ]);
    expect(errorsOf(t([{ percent: 100, tag: 'Bad_Tag' }]))[0]).toMatch(/^spec\.traffic\[0\]\.tag: invalid value "Bad_Tag"/);
    expect(errorsOf(t([{ configurationName: 'other', percent: 100 }]))[0]).toMatch(/^spec\.traffic\[0\]\.configurationName: must be "hello"/);
    const defaulted = validate(t([{ revisionName: 'hello-00001', percent: 100 }])).object as Service;
    expect(defaulted.spec?.traffic).toEqual([{ revisionName: 'hello-00001', latestRevision: false, percent: 100 }]);
  });

  it('warns about unknown fields and keeps them', () => {
    const { object, errors, warnings } = validate(svc((s) => {
      s.spec.template.spec.foo = 1;
      s.spec.template.spec.containers[0].bar = { x: 1 };
      s.extra = true;
    }));
    expect(errors).toEqual([]);
    expect([...warnings].sort()).toEqual(['unknown field "extra"', 'unknown field "spec.template.spec.containers[0].bar"', 'unknown field "spec.template.spec.foo"']);
    expect((object as any).spec.template.spec.foo).toBe(1);
    expect((object as any).spec.template.spec.containers[0].bar).toEqual({ x: 1 });
  });

  it('validates autoscaling annotations through the autoscaler, under spec.template.metadata.annotations', () => {
    const errs = validate(svc((s) => (s.spec.template.metadata = { annotations: { 'autoscaling.knative.dev/min-scale': '-1' } }))).errors;
    expect(errs).toHaveLength(1);
    expect(errs[0]?.field).toMatch(/^spec\.template\.metadata\.annotations.*autoscaling\.knative\.dev\/min-scale/);
  });

  it('checks serving.knative.dev/progress-deadline: a positive duration', () => {
    const withDeadline = (v: string) => validate(svc((s) => (s.spec.template.metadata = { annotations: { 'serving.knative.dev/progress-deadline': v } }))).errors;
    for (const ok of ['30s', '2m', '1m30s', '500ms']) expect(withDeadline(ok)).toEqual([]);
    for (const bad of ['0s', 'soon', '-5s', '']) {
      expect(withDeadline(bad)).toEqual([
        { field: 'spec.template.metadata.annotations[serving.knative.dev/progress-deadline]', message: `invalid value "${bad}": want a positive duration like 30s or 2m` },
      ]);
    }
  });

  it('formats an invalid message listing every field', () => {
    expect(formatInvalid('Service', 'hello', [{ field: 'a', message: 'x' }, { field: 'b', message: 'y' }])).toBe('Service "hello" is invalid: a: x; b: y');
  });
});

describe('validate: other kinds', () => {
  it('stores ordinary ConfigMaps as they are and checks config-autoscaler through the autoscaler', () => {
    const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'anything' }, data: { 'whatever-key': 'x' } };
    expect(validate(cm)).toMatchObject({ errors: [], warnings: [], object: { data: { 'whatever-key': 'x' } } });
    const bad = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'config-autoscaler', namespace: 'knative-serving' }, data: { 'stable-window': 'forever' } };
    const errs = validate(bad).errors;
    expect(errs.length).toBeGreaterThan(0);
    expect(errs[0]?.field).toBe('data.stable-window');
  });

  it('accepts sources with metadata checks only; Brokers and Triggers get their own rules (test/unit/api/eventing.test.ts)', () => {
    const broker = { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', metadata: { name: 'default', annotations: { 'eventing.knative.dev/broker.class': 'Memory' } }, spec: { anything: 1 } };
    expect(validate(broker)).toMatchObject({ errors: [], warnings: ['unknown field "spec.anything"'] });
    expect(errorsOf({ apiVersion: 'sources.knative.dev/v1', kind: 'ContainerSource', metadata: {} })).toEqual(['metadata.name: missing field(s)']);
    expect(errorsOf({ apiVersion: 'eventing.knative.dev/v1', kind: 'Trigger', metadata: { name: 't', namespace: 'Bad NS' } })[0]).toMatch(/^metadata\.namespace: invalid value "Bad NS"/);
  });

  it('refuses platform-owned kinds and unknown kinds', () => {
    expect(errorsOf({ apiVersion: 'serving.knative.dev/v1', kind: 'Revision', metadata: { name: 'r' } })[0]).toMatch(/^kind: Revision objects are created by the platform/);
    expect(validate({ apiVersion: 'serving.knative.dev/v1', kind: 'Revision', metadata: { name: 'r' } }, { allowReadOnly: true }).errors).toEqual([]);
    expect(errorsOf({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' } })[0]).toMatch(/^kind: unknown kind "Deployment".*supported kinds: Service/);
    expect(errorsOf('nope')).toEqual([': expected an object with apiVersion, kind and metadata']);
  });
});
