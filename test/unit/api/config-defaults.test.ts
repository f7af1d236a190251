/** config-defaults: the parser (every key, bad values with key, value and reason), defaulting a revision spec, and admission. */
import { describe, expect, it } from 'vitest';
import {
  COMPILED_SERVING_DEFAULTS,
  CONFIG_DEFAULTS_KEYS,
  defaultsConfigMapWarnings,
  parseDefaultsConfigMap,
  validateDefaultsConfigMap,
} from '../../../src/api/config-defaults.js';
import { ServingDefaultsError } from '../../../src/api/errors.js';
import { quantityValue } from '../../../src/api/quantity.js';
import { defaultRevisionSpec, revisionSpecLimitErrors } from '../../../src/api/revision-defaults.js';
import type { Service } from '../../../src/api/types.js';
import { validate } from '../../../src/api/validate.js';

const configMap = (data: Record<string, string>) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'config-defaults', namespace: 'knative-serving' },
  data,
});

const ksvc = (spec: Record<string, unknown> = {}, container: Record<string, unknown> = {}) => ({
  apiVersion: 'serving.knative.dev/v1',
  kind: 'Service',
  metadata: { name: 'hello', namespace: 'default' },
  spec: { template: { spec: { containers: [{ image: 'example.com/hello', ...container }], ...spec } } },
});

describe('parseDefaultsConfigMap', () => {
  it('without data, or with only _example and keys nobody reads, is the compiled defaults (Knative\'s)', () => {
    expect(parseDefaultsConfigMap(undefined)).toEqual(COMPILED_SERVING_DEFAULTS);
    expect(parseDefaultsConfigMap({ _example: 'revision-timeout-seconds: "abc"', 'no-such-key': 'x', 'revision-idle-timeout-seconds': 'abc' })).toEqual(COMPILED_SERVING_DEFAULTS);
    expect(COMPILED_SERVING_DEFAULTS).toMatchObject({ timeoutSeconds: 300, maxTimeoutSeconds: 600, containerConcurrency: 0, maxContainerConcurrency: 1000, containerNameTemplate: 'user-container' });
    expect(Object.isFrozen(parseDefaultsConfigMap({}))).toBe(true);
  });

  it('reads every key it honours', () => {
    const d = parseDefaultsConfigMap({
      'revision-timeout-seconds': ' 42 ',
      'max-revision-timeout-seconds': '+900',
      'container-concurrency': '3',
      'container-concurrency-max-limit': '50',
      'container-name-template': '{{.Name}}-c',
      'revision-cpu-request': '400m',
      'revision-memory-request': '100M',
      'revision-ephemeral-storage-request': '500M',
      'revision-cpu-limit': '1',
      'revision-memory-limit': '200Mi',
      'revision-ephemeral-storage-limit': '750M',
    });
    expect(d).toEqual({
      timeoutSeconds: 42,
      maxTimeoutSeconds: 900,
      containerConcurrency: 3,
      maxContainerConcurrency: 50,
      containerNameTemplate: '{{.Name}}-c',
      resources: {
        requests: { cpu: '400m', memory: '100M', 'ephemeral-storage': '500M' },
        limits: { cpu: '1', memory: '200Mi', 'ephemeral-storage': '750M' },
      },
    });
    expect(CONFIG_DEFAULTS_KEYS).toHaveLength(11);
  });

  it('refuses bad values naming the key, the value and why (every problem at once)', () => {
    const issues = validateDefaultsConfigMap({
      'revision-timeout-seconds': 'abc',
      'max-revision-timeout-seconds': '1.5',
      'container-concurrency': '99999999999999999999',
      'container-concurrency-max-limit': '',
      'revision-cpu-request': 'lots',
      'revision-memory-limit': '-1Gi',
    });
    expect(issues).toEqual([
      { field: 'data.revision-timeout-seconds', message: 'invalid value "abc": want an integer' },
      { field: 'data.max-revision-timeout-seconds', message: 'invalid value "1.5": want an integer' },
      { field: 'data.container-concurrency', message: 'invalid value "99999999999999999999": value out of range' },
      { field: 'data.container-concurrency-max-limit', message: 'invalid value "": want an integer' },
      { field: 'data.revision-cpu-request', message: expect.stringMatching(/^invalid value "lots": quantities must match the regular expression/) },
      { field: 'data.revision-memory-limit', message: 'invalid value "-1Gi": must be greater than or equal to 0' },
    ]);
    expect(() => parseDefaultsConfigMap({ 'revision-timeout-seconds': 'abc' })).toThrow(ServingDefaultsError);
    expect(() => parseDefaultsConfigMap({ 'revision-timeout-seconds': 'abc' })).toThrow('config-defaults: data.revision-timeout-seconds: invalid value "abc": want an integer');
  });

  it('checks the rules across keys as Knative does', () => {
    expect(validateDefaultsConfigMap({ 'revision-timeout-seconds': '700' })).toEqual([
      { field: 'data.revision-timeout-seconds', message: 'revision-timeout-seconds (700) cannot be greater than max-revision-timeout-seconds (600)' },
    ]);
    expect(validateDefaultsConfigMap({ 'revision-timeout-seconds': '700', 'max-revision-timeout-seconds': '700' })).toEqual([]);
    expect(validateDefaultsConfigMap({ 'max-revision-timeout-seconds': '100' })).toEqual([
      { field: 'data.revision-timeout-seconds', message: 'revision-timeout-seconds (300) cannot be greater than max-revision-timeout-seconds (100)' },
    ]);
    // Stricter than Knative: 0 or less would be no timeout at all (Wisp's timeoutSeconds 0 means "the default").
    expect(validateDefaultsConfigMap({ 'revision-timeout-seconds': '0' })).toEqual([{ field: 'data.revision-timeout-seconds', message: 'invalid value "0": expected 1 <= 0 <= 600' }]);
    expect(validateDefaultsConfigMap({ 'container-concurrency-max-limit': '0' })).toEqual([{ field: 'data.container-concurrency-max-limit', message: 'expected 1 <= 0 <= 2147483647' }]);
    expect(validateDefaultsConfigMap({ 'container-concurrency': '11', 'container-concurrency-max-limit': '10' })).toEqual([{ field: 'data.container-concurrency', message: 'expected 0 <= 11 <= 10' }]);
    expect(validateDefaultsConfigMap({ 'container-concurrency': '-1' })).toEqual([{ field: 'data.container-concurrency', message: 'expected 0 <= -1 <= 1000' }]);
    expect(validateDefaultsConfigMap({ 'revision-cpu-request': '2', 'revision-cpu-limit': '1500m' })).toEqual([
      { field: 'data.revision-cpu-request', message: 'revision-cpu-request (2) cannot be greater than revision-cpu-limit (1500m)' },
    ]);
    // A bad value is reported once, not again by a rule across keys.
    expect(validateDefaultsConfigMap({ 'revision-timeout-seconds': 'x', 'max-revision-timeout-seconds': '1' })).toHaveLength(1);
  });

  it('container-name-template: a plain name or {{.Name}}; other Go template actions and names that cannot be container names are refused', () => {
    expect(parseDefaultsConfigMap({ 'container-name-template': 'app' }).containerNameTemplate).toBe('app');
    expect(parseDefaultsConfigMap({ 'container-name-template': '{{ .Name }}' }).containerNameTemplate).toBe('{{ .Name }}');
    expect(validateDefaultsConfigMap({ 'container-name-template': '{{.Namespace}}' })).toEqual([
      {
        field: 'data.container-name-template',
        message: 'invalid value "{{.Namespace}}": Wisp supports a plain container name or the template {{.Name}} (the Service\'s name), not other Go template actions',
      },
    ]);
    expect(validateDefaultsConfigMap({ 'container-name-template': 'User_Container' })[0]).toEqual({
      field: 'data.container-name-template',
      message: expect.stringMatching(/^invalid value "User_Container": the container name it gives a lowercase RFC 1123 label must consist of/),
    });
    expect(validateDefaultsConfigMap({ 'container-name-template': '' })).toEqual([{ field: 'data.container-name-template', message: 'invalid value "": the container name it gives must not be empty' }]);
  });

  it('warns about Knative keys Wisp has no counterpart for, and about unknown keys; _example is documentation', () => {
    expect(defaultsConfigMapWarnings({ _example: 'x', 'revision-timeout-seconds': '1', 'revision-response-start-timeout-seconds': '10', typo: '1' })).toEqual([
      'field "data.revision-response-start-timeout-seconds" is not read: Wisp has no counterpart of this Knative setting',
      'unknown field "data.typo" (config-defaults does not read it)',
    ]);
  });
});

describe('quantityValue', () => {
  it('reads Kubernetes quantities', () => {
    expect(quantityValue('400m')).toBeCloseTo(0.4);
    expect(quantityValue('1')).toBe(1);
    expect(quantityValue('1Gi')).toBe(2 ** 30);
    expect(quantityValue('100M')).toBe(1e8);
    expect(quantityValue('1e3')).toBe(1000);
    expect(quantityValue('.5')).toBe(0.5);
    expect(quantityValue('1GB')).toBeUndefined();
    expect(quantityValue('')).toBeUndefined();
  });
});

describe('defaultRevisionSpec / revisionSpecLimitErrors', () => {
  const d = parseDefaultsConfigMap({
    'revision-timeout-seconds': '42',
    'container-concurrency': '3',
    'container-name-template': '{{.Name}}',
    'revision-cpu-request': '400m',
    'revision-memory-limit': '200M',
  });

  it('fills what the revision does not set, keeps what it does', () => {
    expect(defaultRevisionSpec({ containers: [{ image: 'x' }] }, d, 'hello')).toEqual({
      containers: [{ image: 'x', name: 'hello', resources: { requests: { cpu: '400m' }, limits: { memory: '200M' } } }],
      containerConcurrency: 3,
      timeoutSeconds: 42,
    });
    const own = defaultRevisionSpec({ containers: [{ image: 'x', name: 'app', resources: { requests: { cpu: '1', memory: '64Mi' } } }], containerConcurrency: 0, timeoutSeconds: 0 }, d, 'hello');
    // Knative: resources one by one (a container's own cpu request stays, the memory limit is added); timeoutSeconds 0 is unset.
    expect(own).toEqual({
      containers: [{ image: 'x', name: 'app', resources: { requests: { cpu: '1', memory: '64Mi' }, limits: { memory: '200M' } } }],
      containerConcurrency: 0,
      timeoutSeconds: 42,
    });
    // No resource defaults, no `resources` added.
    expect(defaultRevisionSpec({ containers: [{ image: 'x' }] }, COMPILED_SERVING_DEFAULTS, 'hello').containers[0]).toEqual({ image: 'x', name: 'user-container' });
  });

  it('bounds containerConcurrency and timeoutSeconds by the limits, with the field path', () => {
    const tight = parseDefaultsConfigMap({ 'revision-timeout-seconds': '10', 'max-revision-timeout-seconds': '60', 'container-concurrency-max-limit': '5' });
    expect(revisionSpecLimitErrors({ containers: [], timeoutSeconds: 61, containerConcurrency: 6 }, tight, 'spec.template.spec')).toEqual([
      { field: 'spec.template.spec.containerConcurrency', message: 'expected 0 <= 6 <= 5' },
      { field: 'spec.template.spec.timeoutSeconds', message: 'expected 0 <= 61 <= 60' },
    ]);
    expect(revisionSpecLimitErrors({ containers: [], timeoutSeconds: 60, containerConcurrency: 5 }, tight, 'spec')).toEqual([]);
  });
});

describe('admission (validate) with config-defaults', () => {
  it('refuses a config-defaults that does not parse, with the key and reason, and warns about keys it does not read', () => {
    const bad = validate(configMap({ 'revision-timeout-seconds': 'soon' }));
    expect(bad.object).toBeUndefined();
    expect(bad.errors).toEqual([{ field: 'data.revision-timeout-seconds', message: 'invalid value "soon": want an integer' }]);
    const ok = validate(configMap({ 'revision-timeout-seconds': '42', 'enable-service-links': 'true' }));
    expect(ok.errors).toEqual([]);
    expect(ok.warnings).toEqual(['field "data.enable-service-links" is not read: Wisp has no counterpart of this Knative setting']);
    // Another namespace's config-defaults is just a ConfigMap.
    expect(validate({ ...configMap({ 'revision-timeout-seconds': 'soon' }), metadata: { name: 'config-defaults', namespace: 'default' } }).errors).toEqual([]);
  });

  it('defaults a Service with the current config-defaults and bounds it by its limits', () => {
    const servingDefaults = parseDefaultsConfigMap({ 'revision-timeout-seconds': '42', 'max-revision-timeout-seconds': '100', 'container-concurrency': '3', 'container-concurrency-max-limit': '10' });
    const r = validate(ksvc(), { servingDefaults });
    expect(r.errors).toEqual([]);
    expect((r.object as Service).spec?.template.spec).toMatchObject({ timeoutSeconds: 42, containerConcurrency: 3, containers: [{ name: 'user-container' }] });
    const over = validate(ksvc({ timeoutSeconds: 101, containerConcurrency: 11 }), { servingDefaults });
    expect(over.errors).toEqual([
      { field: 'spec.template.spec.containerConcurrency', message: 'expected 0 <= 11 <= 10' },
      { field: 'spec.template.spec.timeoutSeconds', message: 'expected 0 <= 101 <= 100' },
    ]);
    // A raised limit lets through what the compiled one refuses.
    expect(validate(ksvc({ timeoutSeconds: 900 })).errors).toEqual([{ field: 'spec.template.spec.timeoutSeconds', message: 'expected 0 <= 900 <= 600' }]);
    expect(validate(ksvc({ timeoutSeconds: 900 }), { servingDefaults: parseDefaultsConfigMap({ 'max-revision-timeout-seconds': '900' }) }).errors).toEqual([]);
  });
});
