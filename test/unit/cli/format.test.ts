import { describe, expect, it } from 'vitest';
import { kindByName } from '../../../src/api/kinds.js';
import type { KObject } from '../../../src/api/types.js';
import { age, shortDuration } from '../../../src/cli/format/age.js';
import { tableFor, trafficByRevision } from '../../../src/cli/format/columns.js';
import { describeObject } from '../../../src/cli/format/describe.js';
import { formatTable } from '../../../src/cli/format/table.js';
import { describeStartError, formatUpBanner } from '../../../src/cli/format/up.js';
import { parseDuration, parsePort, resolveUpOptions } from '../../../src/cli/config.js';
import { parseWarningHeader } from '../../../src/cli/client.js';
import { ApiError, UsageError } from '../../../src/cli/errors.js';

const NOW = Date.parse('2025-01-10T12:00:00Z');
const ago = (ms: number): string => new Date(NOW - ms).toISOString();

const service: KObject = {
  apiVersion: 'serving.knative.dev/v1',
  kind: 'Service',
  metadata: { name: 'hello', namespace: 'default', creationTimestamp: ago(3 * 60_000), labels: { app: 'hello' } },
  spec: { template: { spec: { containers: [{ command: ['node', 'server.js'] }] } } },
  status: {
    url: 'http://hello.default.localhost:8080',
    latestCreatedRevisionName: 'hello-00002',
    latestReadyRevisionName: 'hello-00002',
    conditions: [
      { type: 'ConfigurationsReady', status: 'True' },
      { type: 'Ready', status: 'True' },
    ],
    traffic: [
      { revisionName: 'hello-00002', latestRevision: true, percent: 80 },
      { revisionName: 'hello-00001', percent: 20, tag: 'old' },
      { revisionName: 'hello-00001', percent: 0, tag: 'blue' },
    ],
  },
};

const revision = (n: number, ready: 'True' | 'False', reason?: string): KObject => ({
  apiVersion: 'serving.knative.dev/v1',
  kind: 'Revision',
  metadata: {
    name: `hello-0000${n}`,
    namespace: 'default',
    creationTimestamp: ago(n === 1 ? 2 * 3_600_000 : 5_000),
    labels: { 'serving.knative.dev/service': 'hello', 'serving.knative.dev/configurationGeneration': String(n) },
  },
  spec: { containers: [{ image: 'ghcr.io/x/hello', command: ['node'], args: ['server.js'] }], containerConcurrency: 10, timeoutSeconds: 60 },
  status: { actualReplicas: n, desiredReplicas: 2, conditions: [{ type: 'Ready', status: ready, ...(reason ? { reason } : {}) }] },
});

describe('age', () => {
  it('prints kubectl short durations', () => {
    expect(shortDuration(5_000)).toBe('5s');
    expect(shortDuration(59_999)).toBe('59s');
    expect(shortDuration(3 * 60_000 + 10_000)).toBe('3m');
    expect(shortDuration(2 * 3_600_000 + 1)).toBe('2h');
    expect(shortDuration(4 * 86_400_000 + 5)).toBe('4d');
    expect(shortDuration(400 * 86_400_000)).toBe('1y');
    expect(shortDuration(-500)).toBe('0s');
    expect(shortDuration(-5_000)).toBe('<invalid>');
  });
  it('reads RFC 3339 timestamps and tolerates missing ones', () => {
    expect(age(ago(42_000), NOW)).toBe('42s');
    expect(age(undefined, NOW)).toBe('<unknown>');
    expect(age('yesterday', NOW)).toBe('<unknown>');
  });
});

describe('formatTable', () => {
  it('aligns columns with three spaces and trims trailing blanks', () => {
    const text = formatTable(['NAME', 'READY', 'REASON'], [
      ['a', 'True', ''],
      ['longer-name', 'False', 'Boom'],
    ]);
    expect(text).toBe('NAME          READY   REASON\na             True\nlonger-name   False   Boom\n');
  });
});

describe('tableFor', () => {
  it('prints services with the kubectl columns and AGE', () => {
    const t = tableFor(kindByName('ksvc')!, [service], { now: NOW, allNamespaces: false });
    expect(formatTable(t.headers, t.rows)).toBe(
      'NAME    URL                                   LATESTCREATED   LATESTREADY   READY   REASON   AGE\n' +
        'hello   http://hello.default.localhost:8080   hello-00002     hello-00002   True             3m\n',
    );
  });

  it('prints revisions with traffic and tags from the Service, generation and replicas', () => {
    const traffic = trafficByRevision([service]);
    const t = tableFor(kindByName('rev')!, [revision(1, 'True'), revision(2, 'False', 'ExitCode1')], { now: NOW, allNamespaces: false, traffic });
    expect(t.headers).toEqual(['NAME', 'SERVICE', 'TRAFFIC', 'TAGS', 'GENERATION', 'READY', 'REASON', 'ACTUAL', 'DESIRED', 'AGE']);
    expect(t.rows).toEqual([
      ['hello-00001', 'hello', '20%', 'old,blue', '1', 'True', '', '1', '2', '2h'],
      ['hello-00002', 'hello', '80%', '', '2', 'False', 'ExitCode1', '2', '2', '5s'],
    ]);
  });

  it('adds NAMESPACE first with -A, and uses the generic columns for other kinds', () => {
    const cfg: KObject = { apiVersion: 'serving.knative.dev/v1', kind: 'Configuration', metadata: { name: 'tick', namespace: 'ops' } };
    const t = tableFor(kindByName('configurations')!, [cfg], { now: NOW, allNamespaces: true });
    expect(t.headers).toEqual(['NAMESPACE', 'NAME', 'READY', 'REASON', 'AGE']);
    expect(t.rows).toEqual([['ops', 'tick', 'Unknown', '', '<unknown>']]);
  });

  it('lists every source kind with its SINK and READY', () => {
    const status = { sinkUri: 'http://127.0.0.1:8081/default/default', conditions: [{ type: 'Ready', status: 'False', reason: 'NotFound' }] };
    const src = (kind: string, spec: Record<string, unknown>): KObject => ({ apiVersion: 'sources.knative.dev/v1', kind, metadata: { name: 's', namespace: 'default' }, spec, status });
    const rows: [string, KObject, string[]][] = [
      ['pingsources', src('PingSource', { schedule: '* * * * *' }), ['SCHEDULE', '* * * * *']],
      ['apiserversources', src('ApiServerSource', { resources: [{ apiVersion: 'v1', kind: 'ConfigMap' }] }), ['RESOURCES', 'ConfigMap']],
      ['kafkasources', src('KafkaSource', { topics: ['orders', 'refunds'] }), ['TOPICS', 'orders,refunds']],
      ['containersources', src('ContainerSource', {}), []],
      ['sinkbindings', src('SinkBinding', { subject: { kind: 'Service', name: 'publisher' } }), ['SUBJECT', 'service:publisher']],
      ['sinkbindings', src('SinkBinding', { subject: { kind: 'Service', selector: { matchLabels: { app: 'p' } } } }), ['SUBJECT', 'service:app=p']],
    ];
    for (const [plural, obj, [header, cell]] of rows) {
      const t = tableFor(kindByName(plural)!, [obj], { now: NOW, allNamespaces: false });
      expect(t.headers).toEqual(['NAME', ...(header ? [header] : []), 'SINK', 'READY', 'REASON', 'AGE']);
      expect(t.rows[0]).toEqual(['s', ...(cell ? [cell] : []), 'http://127.0.0.1:8081/default/default', 'False', 'NotFound', '<unknown>']);
    }
  });

  it('prints brokers, triggers and configmaps', () => {
    const broker: KObject = {
      apiVersion: 'eventing.knative.dev/v1',
      kind: 'Broker',
      metadata: { name: 'default', namespace: 'default', creationTimestamp: ago(1000) },
      status: { address: { url: 'http://127.0.0.1:8081/default/default' }, conditions: [{ type: 'Ready', status: 'True' }] },
    };
    const trigger: KObject = {
      apiVersion: 'eventing.knative.dev/v1',
      kind: 'Trigger',
      metadata: { name: 'orders', namespace: 'default', creationTimestamp: ago(1000) },
      spec: { broker: 'default', subscriber: { ref: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: 'hello' } } },
      status: { conditions: [{ type: 'Ready', status: 'False', reason: 'SubscriberNotFound' }] },
    };
    const cm: KObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'default', creationTimestamp: ago(1000) }, data: { a: '1', b: '2' } };
    expect(tableFor(kindByName('brokers')!, [broker], { now: NOW, allNamespaces: false }).rows).toEqual([
      ['default', 'http://127.0.0.1:8081/default/default', 'True', '', '1s'],
    ]);
    expect(tableFor(kindByName('triggers')!, [trigger], { now: NOW, allNamespaces: false }).rows).toEqual([
      ['orders', 'default', 'service:hello', 'False', 'SubscriberNotFound', '1s'],
    ]);
    const cmTable = tableFor(kindByName('cm')!, [cm], { now: NOW, allNamespaces: false });
    expect(cmTable.headers).toEqual(['NAME', 'DATA', 'AGE']);
    expect(cmTable.rows).toEqual([['c', '2', '1s']]);
  });
});

describe('describeObject', () => {
  it('describes a Service: metadata, URL, traffic, revisions and conditions', () => {
    const text = describeObject(service, { now: NOW, revisions: [revision(1, 'True'), revision(2, 'True')] });
    expect(text).toContain('Name:         hello\nNamespace:    default\nLabels:       app=hello\nAnnotations:  <none>\nAge:          3m\n');
    expect(text).toContain('URL:             http://hello.default.localhost:8080');
    expect(text).toMatch(/Traffic:\n  PERCENT +REVISION +LATEST +TAG +URL\n  80% +hello-00002 +@latest\n  20% +hello-00001 +old\n/);
    expect(text).toMatch(/Revisions:\n  NAME +GENERATION +TRAFFIC +TAGS +READY +REPLICAS +AGE\n  hello-00002 +2 +80% +True +2\/2 +5s\n  hello-00001 +1 +20% +old,blue +True +1\/2 +2h\n/);
    expect(text).toMatch(/Conditions:\n  TYPE +STATUS +REASON +MESSAGE\n  ConfigurationsReady +True\n  Ready +True\n$/);
  });

  it('describes a Revision: command, concurrency, timeout and replicas', () => {
    const text = describeObject(revision(2, 'False', 'ExitCode1'), { now: NOW });
    expect(text).toContain('Service:                hello');
    expect(text).toContain('Image:                  ghcr.io/x/hello');
    expect(text).toContain('Command:                node server.js');
    expect(text).toContain('Container Concurrency:  10');
    expect(text).toContain('Timeout Seconds:        60');
    expect(text).toContain('Replicas:               2 actual / 2 desired');
    expect(text).toMatch(/Ready +False +ExitCode1/);
  });

  it('falls back to YAML of spec and status for other kinds', () => {
    // Brokers and Triggers have their own sections (test/unit/cli/event.test.ts); sources fall back to YAML.
    const ping: KObject = {
      apiVersion: 'sources.knative.dev/v1',
      kind: 'PingSource',
      metadata: { name: 'orders', namespace: 'default', annotations: { 'wisp.dev/source-dir': '/tmp/x' } },
      spec: { schedule: '* * * * *', sink: { ref: { kind: 'Broker', name: 'default' } } },
      status: { sinkUri: 'http://127.0.0.1:8081/default/default' },
    };
    const text = describeObject(ping, { now: NOW });
    expect(text).toContain('Annotations:  wisp.dev/source-dir: /tmp/x');
    expect(text).toContain('Spec:\n  schedule: "* * * * *"\n  sink:\n    ref:\n      kind: Broker\n      name: default\n');
    expect(text).toContain('Status:\n  sinkUri: http://127.0.0.1:8081/default/default\n');
    expect(text).toContain('Conditions:  <none>');
  });
});

describe('config', () => {
  it('validates ports and names the flag', () => {
    expect(parsePort('8080', '--ingress-port')).toBe(8080);
    expect(parsePort('0', '--api-port')).toBe(0);
    for (const bad of ['abc', '-1', '65536', '80.5', '']) {
      expect(() => parsePort(bad, '--ingress-port')).toThrow(UsageError);
    }
    expect(() => parsePort('abc', '--ingress-port')).toThrow(/--ingress-port/);
  });

  it('parses durations', () => {
    expect(parseDuration('60s', '--timeout')).toBe(60_000);
    expect(parseDuration('1m30s', '--timeout')).toBe(90_000);
    expect(parseDuration('500ms', '--timeout')).toBe(500);
    expect(parseDuration('2', '--timeout')).toBe(2_000);
    expect(() => parseDuration('soon', '--timeout')).toThrow(/--timeout/);
  });

  it('lets flags override the environment and the environment override defaults', () => {
    expect(resolveUpOptions({}, {})).toEqual({
      stateDir: '.wisp',
      host: '127.0.0.1',
      apiHost: '127.0.0.1',
      ingressPort: 8080,
      brokerPort: 8081,
      apiPort: 8090,
      brokerClass: 'Memory',
      manifests: [],
    });
    const env = { WISP_STATE_DIR: '/s', WISP_INGRESS_PORT: '9000', WISP_API_PORT: '9001', WISP_LOG_LEVEL: 'warn', WISP_AUTOSCALER_TICK_MS: '100', WISP_HOST: '0.0.0.0' };
    const opts = resolveUpOptions({ ingressPort: '7000', brokerClass: 'redis', file: ['examples'] }, env);
    expect(opts).toMatchObject({ stateDir: '/s', host: '0.0.0.0', ingressPort: 7000, apiPort: 9001, brokerPort: 8081, brokerClass: 'Redis', logLevel: 'warn', autoscalerTickMs: 100, manifests: ['examples'] });
    expect(() => resolveUpOptions({}, { WISP_BROKER_PORT: 'x' })).toThrow(/WISP_BROKER_PORT/);
    expect(() => resolveUpOptions({ brokerClass: 'Nats' }, {})).toThrow(/--broker-class/);
  });

  it('gives the control API its own bind: --host opens the ingresses only', () => {
    expect(resolveUpOptions({ host: '0.0.0.0' }, {})).toMatchObject({ host: '0.0.0.0', apiHost: '127.0.0.1' });
    expect(resolveUpOptions({}, { WISP_HOST: '0.0.0.0', WISP_API_HOST: '::1' })).toMatchObject({ host: '0.0.0.0', apiHost: '::1' });
    expect(resolveUpOptions({ apiHost: '0.0.0.0' }, { WISP_API_HOST: '::1' }).apiHost).toBe('0.0.0.0');
    expect(resolveUpOptions({}, {}).apiTls).toBeUndefined();
  });

  it('takes the control API TLS pair from flags or env, both or neither', () => {
    expect(resolveUpOptions({ apiTlsCert: 'c.pem', apiTlsKey: 'k.pem' }, {}).apiTls).toEqual({ certFile: 'c.pem', keyFile: 'k.pem' });
    expect(resolveUpOptions({ apiTlsKey: 'k2.pem' }, { WISP_API_TLS_CERT: 'c.pem', WISP_API_TLS_KEY: 'k.pem' }).apiTls).toEqual({ certFile: 'c.pem', keyFile: 'k2.pem' });
    expect(() => resolveUpOptions({ apiTlsCert: 'c.pem' }, {})).toThrow('wisp: --api-tls-cert (or WISP_API_TLS_CERT) needs --api-tls-key (or WISP_API_TLS_KEY): give both, PEM files');
    expect(() => resolveUpOptions({}, { WISP_API_TLS_KEY: 'k.pem' })).toThrow(/needs --api-tls-cert/);
  });
});

describe('wisp up output', () => {
  it('prints what was applied, the endpoints, a curl line per Service and one per Broker', () => {
    const text = formatUpBanner({
      urls: { ingress: 'http://127.0.0.1:8080', broker: 'http://127.0.0.1:8081', api: 'http://127.0.0.1:8090' },
      applied: [
        { ref: 'service.serving.knative.dev/hello', namespace: 'default', result: 'created', warnings: ['unknown field "spec.foo"'] },
        { ref: 'broker.eventing.knative.dev/default', namespace: 'default', result: 'unchanged', warnings: [] },
      ],
      tokenFile: '/home/u/.wisp/token',
    });
    expect(text).toBe(
      [
        'service.serving.knative.dev/hello created',
        'Warning: unknown field "spec.foo"',
        'broker.eventing.knative.dev/default unchanged',
        'Wisp is up.',
        '  Service ingress  http://127.0.0.1:8080   (route by Host: <service>.<namespace>.localhost, or by path: /<namespace>/<service>/...)',
        '  Broker ingress   http://127.0.0.1:8081/<namespace>/<broker>',
        '  Control API      http://127.0.0.1:8090   (wisp --server, /healthz, /metrics; bearer token in /home/u/.wisp/token)',
        'Try:',
        "  curl -H 'Host: hello.default.localhost' http://127.0.0.1:8080",
        `  curl http://127.0.0.1:8081/default/default -H 'ce-specversion: 1.0' -H 'ce-id: 1' -H 'ce-source: /try' -H 'ce-type: dev.example.order' -H 'content-type: application/json' -d '{"item":"book"}'`,
        '  npx wisp get ksvc',
        '',
      ].join('\n'),
    );
  });

  it('shows https for a TLS control API, and the state dir and CA to use in the example command', () => {
    const text = formatUpBanner(
      { urls: { ingress: 'http://0.0.0.0:8080', broker: 'http://0.0.0.0:8081', api: 'https://127.0.0.1:9443' }, applied: [], tokenFile: '/s/token' },
      { stateDir: '/s', apiTls: { certFile: 'api.crt', keyFile: 'api.key' } },
    );
    expect(text).toContain('  Control API      https://127.0.0.1:9443   (wisp --server, /healthz, /metrics; bearer token in /s/token)\n');
    expect(text).toContain('  NODE_EXTRA_CA_CERTS=api.crt npx wisp get ksvc --server https://127.0.0.1:9443 --state-dir /s\n');
  });

  it('names the flag of a port in use', () => {
    const opts = resolveUpOptions({}, {});
    const err = Object.assign(new Error('listen EADDRINUSE: address already in use 127.0.0.1:8081'), { code: 'EADDRINUSE', port: 8081 });
    expect(describeStartError(err, opts)).toBe('wisp up: port 8081 is in use (--broker-port)');
    expect(describeStartError(new Error('state dir is not writable\nstack'), opts)).toBe('wisp up: state dir is not writable');
  });
});

describe('errors and headers', () => {
  it('parses Warning headers', () => {
    expect(parseWarningHeader('299 - "unknown field \\"spec.x\\"", 299 - "second"')).toEqual(['unknown field "spec.x"', 'second']);
    expect(parseWarningHeader('299 - "unknown field "spec.y""')).toEqual(['unknown field "spec.y"']);
    expect(parseWarningHeader('299 - "a, b" "Mon, 01 Jan 2024 00:00:00 GMT"')).toEqual(['a, b']);
  });

  it('prints Status errors like kubectl, one line per cause', () => {
    const one = new ApiError(422, { kind: 'Status', reason: 'Invalid', message: 'spec.template.spec.containers: Required value', details: { causes: [{ field: 'spec.template.spec.containers', message: 'Required value' }] } });
    expect(one.lines()).toEqual(['Error from server (Invalid): spec.template.spec.containers: Required value']);
    const two = new ApiError(422, { kind: 'Status', reason: 'Invalid', message: 'two problems', details: { causes: [{ field: 'a', message: 'bad' }, { field: 'b', message: 'worse' }] } });
    expect(two.lines()).toEqual(['Error from server (Invalid): a: bad', 'Error from server (Invalid): b: worse']);
    expect(new ApiError(503, { message: 'busy' }).lines()).toEqual(['Error from server (ServiceUnavailable): busy']);
  });
});
