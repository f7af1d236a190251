import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { KObject } from '../../../src/api/types.js';
import { key, startStandIn, type StandIn } from './control-api-standin.js';
import { run } from './run.js';

interface Recorded {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A broker ingress that records each request and answers with `reply`. */
interface Ingress {
  url: string;
  requests: Recorded[];
  reply: { status: number; body?: string; contentType?: string };
  close(): Promise<void>;
}

async function startIngress(): Promise<Ingress> {
  const ingress: Ingress = { url: '', requests: [], reply: { status: 202 }, close: async () => undefined };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      ingress.requests.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(ingress.reply.status, { 'content-type': ingress.reply.contentType ?? 'text/plain' });
      res.end(ingress.reply.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  ingress.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  ingress.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return ingress;
}

let api: StandIn;
let ingress: Ingress;
let dir: string;
const server = (): string[] => ['--server', api.url];

beforeEach(async () => {
  api = await startStandIn();
  ingress = await startIngress();
  dir = await mkdtemp(join(tmpdir(), 'wisp-event-'));
});

afterEach(async () => {
  await api.close();
  await ingress.close();
  await rm(dir, { recursive: true, force: true });
});

function seed(obj: KObject): void {
  api.objects.set(key('eventing.knative.dev', `${obj.kind.toLowerCase()}s`, obj.metadata.namespace, obj.metadata.name), obj);
}

function readyBroker(name = 'default', namespace = 'default'): KObject {
  const url = `${ingress.url}/${namespace}/${name}`;
  return {
    apiVersion: 'eventing.knative.dev/v1',
    kind: 'Broker',
    metadata: { name, namespace, annotations: { 'eventing.knative.dev/broker.class': 'Memory' }, creationTimestamp: new Date().toISOString() },
    spec: { delivery: { retry: 3, backoffPolicy: 'linear', backoffDelay: 'PT0.5S' } },
    status: {
      observedGeneration: 1,
      address: { name: 'http', url },
      addresses: [{ name: 'http', url }],
      conditions: [
        { type: 'Ready', status: 'True' },
        { type: 'Addressable', status: 'True' },
        { type: 'DeadLetterSinkResolved', status: 'True', reason: 'DeadLetterSinkNotConfigured', message: 'No dead letter sink is configured.' },
        { type: 'IngressReady', status: 'True' },
      ],
    },
  };
}

describe('wisp event send', () => {
  it('sends a binary-mode CloudEvent with JSON data and extensions to the Broker address', async () => {
    seed(readyBroker());
    const res = await run([
      'event', 'send', '--broker', 'default', '--type', 'dev.example.order.created', '--source', '/orders', '--id', 'order-1',
      '--data', '{"id":42,"total":9.5}', '--extension', 'region=eu', '--extension', 'partitionkey=customer-7', ...server(),
    ]);
    expect(res).toEqual({ code: 0, stdout: 'event order-1 accepted by broker default/default\n', stderr: '' });
    expect(api.requests).toContain('GET /apis/eventing.knative.dev/v1/namespaces/default/brokers/default');
    expect(ingress.requests).toHaveLength(1);
    const req = ingress.requests[0]!;
    expect(req.method).toBe('POST');
    expect(req.path).toBe('/default/default');
    expect(req.headers['ce-id']).toBe('order-1');
    expect(req.headers['ce-specversion']).toBe('1.0');
    expect(req.headers['ce-type']).toBe('dev.example.order.created');
    expect(req.headers['ce-source']).toBe('/orders');
    expect(req.headers['ce-region']).toBe('eu');
    expect(req.headers['ce-partitionkey']).toBe('customer-7');
    expect(req.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(req.body)).toEqual({ id: 42, total: 9.5 });
  });

  it('sends structured mode, text data as text/plain, and a random id by default', async () => {
    seed(readyBroker('default', 'shop'));
    const res = await run(['event', 'send', '--broker', 'default', '-n', 'shop', '--type', 't', '--source', 's', '--data', 'hello there', '--mode', 'structured', ...server()]);
    expect(res.code).toBe(0);
    const req = ingress.requests[0]!;
    expect(req.path).toBe('/shop/default');
    expect(req.headers['content-type']).toMatch(/^application\/cloudevents\+json/);
    expect(req.headers['ce-id']).toBeUndefined();
    const body = JSON.parse(req.body) as Record<string, unknown>;
    expect(body).toMatchObject({ specversion: '1.0', type: 't', source: 's', datacontenttype: 'text/plain', data: 'hello there' });
    expect(body.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.stdout).toBe(`event ${String(body.id)} accepted by broker shop/default\n`);
  });

  it('reads --data @file', async () => {
    seed(readyBroker());
    const path = join(dir, 'order.json');
    await writeFile(path, '{"items":[1,2,3]}\n');
    const res = await run(['event', 'send', '--broker', 'default', '--type', 't', '--source', 's', '--data', `@${path}`, ...server()]);
    expect(res.code).toBe(0);
    expect(ingress.requests[0]?.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(ingress.requests[0]!.body)).toEqual({ items: [1, 2, 3] });

    const missing = await run(['event', 'send', '--broker', 'default', '--type', 't', '--source', 's', '--data', `@${join(dir, 'nope.json')}`, ...server()]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^wisp event send: cannot read --data file .*nope\.json/);
  });

  it('fails with exit 1 when the Broker does not exist', async () => {
    const res = await run(['event', 'send', '--broker', 'missing', '--type', 't', '--source', 's', ...server()]);
    expect(res.code).toBe(1);
    expect(res.stderr).toBe('Error from server (NotFound): brokers.eventing.knative.dev "missing" not found\n');
    expect(ingress.requests).toHaveLength(0);
  });

  it('fails with exit 1 naming the reason when the Broker is not Ready', async () => {
    const b = readyBroker();
    b.status = {
      conditions: [{ type: 'Ready', status: 'False', reason: 'BrokerClassNotAvailable', message: 'broker class "Redis" is not available in this Wisp process; available classes: MTChannelBasedBroker, Memory' }],
    };
    seed(b);
    const res = await run(['event', 'send', '--broker', 'default', '--type', 't', '--source', 's', ...server()]);
    expect(res.code).toBe(1);
    expect(res.stderr).toBe(
      'wisp event send: broker default/default is not ready (BrokerClassNotAvailable: broker class "Redis" is not available in this Wisp process; available classes: MTChannelBasedBroker, Memory)\n',
    );
    expect(ingress.requests).toHaveLength(0);
  });

  it('prints the broker ingress error and exits 1 on 4xx/5xx', async () => {
    seed(readyBroker());
    ingress.reply = { status: 400, body: JSON.stringify({ error: 'invalid CloudEvent: missing id' }), contentType: 'application/json' };
    const bad = await run(['event', 'send', '--broker', 'default', '--type', 't', '--source', 's', ...server()]);
    expect(bad).toMatchObject({ code: 1, stdout: '', stderr: 'Error from broker (400): invalid CloudEvent: missing id\n' });

    ingress.reply = { status: 503, body: 'backend unavailable: redis is down\n' };
    const down = await run(['event', 'send', '--broker', 'default', '--type', 't', '--source', 's', ...server()]);
    expect(down).toMatchObject({ code: 1, stderr: 'Error from broker (503): backend unavailable: redis is down\n' });
  });

  it('exits 1 when the broker ingress cannot be reached', async () => {
    seed(readyBroker());
    await ingress.close();
    const res = await run(['event', 'send', '--broker', 'default', '--type', 't', '--source', 's', ...server()]);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/^wisp event send: cannot reach the broker ingress at http:\/\/127\.0\.0\.1:\d+\/default\/default/);
  });

  it('exits 2 on misuse: missing --type, bad --extension, bad --mode', async () => {
    seed(readyBroker());
    const noType = await run(['event', 'send', '--broker', 'default', '--source', 's', ...server()]);
    expect(noType.code).toBe(2);
    expect(noType.stderr).toMatch(/^wisp event send: required option '--type <type>' not specified/);

    const noEq = await run(['event', 'send', '--broker', 'default', '--type', 't', '--source', 's', '--extension', 'region', ...server()]);
    expect(noEq).toMatchObject({ code: 2, stderr: 'wisp event send: invalid --extension "region": want name=value\n' });

    const badName = await run(['event', 'send', '--broker', 'default', '--type', 't', '--source', 's', '--extension', 'Region-1=eu', ...server()]);
    expect(badName).toMatchObject({ code: 2, stderr: 'wisp event send: invalid --extension "Region-1=eu": the name must be 1-20 lower-case letters or digits\n' });

    const reserved = await run(['event', 'send', '--broker', 'default', '--type', 't', '--source', 's', '--extension', 'type=x', ...server()]);
    expect(reserved.code).toBe(2);

    const mode = await run(['event', 'send', '--broker', 'default', '--type', 't', '--source', 's', '--mode', 'batch', ...server()]);
    expect(mode.code).toBe(2);
    expect(mode.stderr).toMatch(/--mode <mode>' argument 'batch' is invalid/);

    const timeout = await run(['event', 'send', '--broker', 'default', '--type', 't', '--source', 's', '--timeout', 'soon', ...server()]);
    expect(timeout).toMatchObject({ code: 2, stderr: 'wisp event send: invalid --timeout "soon": want a duration like 10s, 1500ms or 2m\n' });

    expect((await run(['event', ...server()])).code).toBe(2);
    expect(ingress.requests).toHaveLength(0);
  });

  it('explains itself with --help', async () => {
    const res = await run(['event', 'send', '--help']);
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/^Usage: wisp event send \[options\]/);
    for (const flag of ['--broker', '--namespace', '--type', '--source', '--id', '--data', '--extension', '--mode', '--timeout']) expect(res.stdout).toContain(flag);
  });
});

describe('wisp describe broker|trigger', () => {
  it('describes a Broker: class, address, delivery, conditions', async () => {
    seed(readyBroker());
    const res = await run(['describe', 'broker', 'default', ...server()]);
    expect(res.code).toBe(0);
    const out = res.stdout;
    expect(out).toMatch(/^Name:\s+default$/m);
    expect(out).toMatch(/^Namespace:\s+default$/m);
    expect(out).toMatch(/^Class:\s+Memory$/m);
    expect(out).toContain(`Address:`);
    expect(out).toMatch(new RegExp(`^Address:\\s+${ingress.url.replace(/\./g, '\\.')}/default/default$`, 'm'));
    expect(out).toMatch(/^Delivery:\s+retry: 3\n\s+backoffPolicy: linear\n\s+backoffDelay: PT0\.5S$/m);
    expect(out).toMatch(/^Conditions:\n\s+TYPE\s+STATUS\s+REASON\s+MESSAGE\n\s+Ready\s+True/m);
    expect(out).toMatch(/DeadLetterSinkResolved\s+True\s+DeadLetterSinkNotConfigured\s+No dead letter sink is configured\./);
  });

  it('describes a Trigger: broker, filters as YAML, subscriber ref and resolved URI, delivery, max in flight', async () => {
    seed({
      apiVersion: 'eventing.knative.dev/v1',
      kind: 'Trigger',
      metadata: { name: 'orders', namespace: 'default', annotations: { 'wisp.dev/max-in-flight': '1' } },
      spec: {
        broker: 'default',
        filters: [{ exact: { type: 'dev.example.order.created' } }, { cesql: "region = 'eu'" }],
        subscriber: { ref: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: 'display' }, uri: '/orders' },
        delivery: { retry: 2, deadLetterSink: { uri: 'http://127.0.0.1:9/dlq' } },
      },
      status: {
        subscriberUri: 'http://display.default.localhost:8080/orders',
        deadLetterSinkUri: 'http://127.0.0.1:9/dlq',
        conditions: [
          { type: 'Ready', status: 'False', reason: "Unable to get the Subscriber's URI", message: 'URL missing' },
          { type: 'BrokerReady', status: 'True' },
        ],
      },
    });
    const res = await run(['describe', 'trigger', 'orders', ...server()]);
    expect(res.code).toBe(0);
    const out = res.stdout;
    expect(out).toMatch(/^Broker:\s+default$/m);
    expect(out).toMatch(/^Filter:\s+filters:\n\s+- exact:\n\s+type: dev\.example\.order\.created\n\s+- cesql: region = 'eu'$/m);
    expect(out).toMatch(/^Subscriber:\s+Ref:\s+Service display \(serving\.knative\.dev\/v1\)\n\s+URI:\s+\/orders\n\s+Resolved URI:\s+http:\/\/display\.default\.localhost:8080\/orders$/m);
    expect(out).toMatch(/^Delivery:\s+retry: 2\n\s+deadLetterSink:\n\s+uri: http:\/\/127\.0\.0\.1:9\/dlq$/m);
    expect(out).toMatch(/^Dead Letter Sink URI:\s+http:\/\/127\.0\.0\.1:9\/dlq$/m);
    expect(out).toMatch(/^Max in flight:\s+1$/m);
    expect(out).toMatch(/Ready\s+False\s+Unable to get the Subscriber's URI\s+URL missing/);
  });

  it('shows attribute filters and defaults for a plain Trigger', async () => {
    seed({
      apiVersion: 'eventing.knative.dev/v1',
      kind: 'Trigger',
      metadata: { name: 'all', namespace: 'default' },
      spec: { broker: 'default', filter: { attributes: { type: 'dev.example' } }, subscriber: { uri: 'http://127.0.0.1:9/sink' } },
    });
    const out = (await run(['describe', 'trigger', 'all', ...server()])).stdout;
    expect(out).toMatch(/^Filter:\s+attributes:\n\s+type: dev\.example$/m);
    expect(out).toMatch(/^Subscriber:\s+URI:\s+http:\/\/127\.0\.0\.1:9\/sink\n\s+Resolved URI:\s+<unresolved>$/m);
    expect(out).toMatch(/^Delivery:\s+<the Broker's>$/m);
    expect(out).toMatch(/^Max in flight:\s+100 \(default\)$/m);
  });
});
