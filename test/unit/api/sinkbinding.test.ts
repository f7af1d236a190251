import { describe, expect, it } from 'vitest';
import { labelSelectorMatches } from '../../../src/api/selector.js';
import { validate } from '../../../src/api/validate.js';

type Obj = Record<string, any>;

function binding(spec: Obj = {}, metadata: Obj = { name: 'bind' }): Obj {
  return {
    apiVersion: 'sources.knative.dev/v1',
    kind: 'SinkBinding',
    metadata,
    spec: {
      subject: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: 'publisher' },
      sink: { ref: { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', name: 'default' } },
      ...spec,
    },
  };
}

const errorsOf = (obj: Obj): string[] => validate(obj).errors.map((e) => `${e.field}: ${e.message}`);
const subject = (s: Obj): Obj => ({ subject: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', ...s } });

describe('SinkBinding validation', () => {
  it('accepts a subject by name or by selector, with overrides, and defaults the namespace', () => {
    const r = validate(binding({ ceOverrides: { extensions: { origin: 'x' } } }));
    expect(r.errors).toEqual([]);
    expect(r.warnings).toEqual([]);
    expect(r.object?.metadata.namespace).toBe('default');
    const bySelector = subject({ name: undefined, selector: { matchLabels: { app: 'p' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['web'] }] } });
    expect(errorsOf(binding(bySelector))).toEqual([]);
  });

  it('requires a subject, a sink and a spec', () => {
    expect(errorsOf(binding({ subject: undefined, sink: undefined }))).toEqual(['spec.subject: missing field(s)', 'spec.sink: missing field(s)']);
    expect(errorsOf(binding({ subject: { name: 'x' } }))).toEqual(['spec.subject: missing field(s): apiVersion, kind']);
    expect(errorsOf({ apiVersion: 'sources.knative.dev/v1', kind: 'SinkBinding', metadata: { name: 'x' } })).toEqual(['spec: missing field(s)']);
  });

  it('wants exactly one of name and selector', () => {
    expect(errorsOf(binding(subject({ selector: { matchLabels: { a: 'b' } }, name: 'p' })))).toEqual(['spec.subject: expected exactly one, got both: name, selector']);
    expect(errorsOf(binding(subject({})))).toEqual(['spec.subject: expected exactly one: name, selector']);
  });

  it('refuses subjects the local runtime cannot run, saying what to bind instead', () => {
    const [err] = errorsOf(binding({ subject: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'd' } }));
    expect(err).toBe('spec.subject: cannot bind apps/v1 Deployment: the local runtime runs only serving.knative.dev/v1 Service; bind the Service that runs the code');
  });

  it('checks selector operators and values, and the subject namespace', () => {
    const bad = subject({ selector: { matchExpressions: [{ key: 'a', operator: 'Equals', values: ['x'] }, { key: 'b', operator: 'In' }, { key: 'c', operator: 'Exists', values: ['y'] }] } });
    expect(errorsOf(binding(bad))).toEqual([
      'spec.subject.selector.matchExpressions[0].operator: invalid value "Equals": want one of In, NotIn, Exists, DoesNotExist',
      'spec.subject.selector.matchExpressions[1].values: must be non-empty for operator In',
      'spec.subject.selector.matchExpressions[2].values: must be empty for operator Exists',
    ]);
    expect(errorsOf(binding(subject({ name: 'p', namespace: 'other' }), { name: 'bind', namespace: 'default' }))).toEqual([
      'spec.subject.namespace: must be the binding\'s own namespace "default"',
    ]);
  });

  it('refuses bad ceOverrides and bad sinks like every source', () => {
    expect(errorsOf(binding({ ceOverrides: { extensions: { Bad_Name: 'x', id: 'y' } } }))).toEqual([
      'spec.ceOverrides.extensions[Bad_Name]: invalid CloudEvents attribute name: want 1-20 lower-case letters or digits',
      'spec.ceOverrides.extensions[id]: cannot override the CloudEvents context attribute "id"',
    ]);
    expect(errorsOf(binding({ sink: { uri: 'not a url' } }))[0]).toMatch(/^spec\.sink/);
  });
});

describe('label selectors', () => {
  it('an empty selector matches everything; terms are ANDed', () => {
    expect(labelSelectorMatches({}, undefined)).toBe(true);
    expect(labelSelectorMatches({ matchLabels: { a: '1' } }, { a: '1', b: '2' })).toBe(true);
    expect(labelSelectorMatches({ matchLabels: { a: '1' }, matchExpressions: [{ key: 'b', operator: 'NotIn', values: ['2'] }] }, { a: '1', b: '2' })).toBe(false);
    expect(labelSelectorMatches({ matchExpressions: [{ key: 'b', operator: 'NotIn', values: ['2'] }] }, {})).toBe(true);
    expect(labelSelectorMatches({ matchExpressions: [{ key: 'b', operator: 'In', values: ['2'] }] }, {})).toBe(false);
  });
});
