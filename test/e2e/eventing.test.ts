import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpRequest } from '../support/http.js';
import { Recorder } from '../support/recorder.js';
import { waitFor } from '../support/wait.js';
import { WispProcess } from '../support/wisp.js';
import { HELLO_DIR, getJson, yamlFile } from './helpers.js';

const BROKER = `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata:
  name: default
  namespace: default
`;

function trigger(name: string, uri: string, opts: { filter?: string; delivery?: string; annotations?: string } = {}): string {
  return `apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: ${name}
  namespace: default
${opts.annotations ? `  annotations:\n${opts.annotations}\n` : ''}spec:
  broker: default
${opts.filter ?? ''}
  subscriber:
    uri: ${uri}
${opts.delivery ?? ''}
`;
}

const typeFilter = (type: string): string => `  filter:\n    attributes:\n      type: ${type}`;

describe('eventing on the in-memory broker (e2e)', () => {
  let wisp: WispProcess;
  const recorders: Recorder[] = [];
  const recorder = async (responder?: ConstructorParameters<typeof Recorder>[0]): Promise<Recorder> => {
    const r = await new Recorder(responder).start();
    recorders.push(r);
    return r;
  };

  /** POSTs one binary-mode event to the default broker. */
  const send = (type: string, extra: Record<string, string> = {}, body = '{"n":1}'): ReturnType<typeof httpRequest> =>
    httpRequest({
      port: wisp.ports.broker,
      path: '/default/default',
      method: 'POST',
      headers: { 'ce-specversion': '1.0', 'ce-id': randomUUID(), 'ce-source': '/e2e', 'ce-type': type, 'content-type': 'application/json', ...extra },
      body,
    });

  const apply = async (yaml: string): Promise<void> => {
    const res = await wisp.cli(['apply', '-f', await yamlFile(yaml)]);
    expect(res.code, res.stderr).toBe(0);
  };

  const waitTriggerReady = (name: string): Promise<unknown> =>
    waitFor(async () => {
      const t = await getJson(wisp, `/apis/eventing.knative.dev/v1/namespaces/default/triggers/${name}`);
      return t.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
    }, { what: `trigger ${name} Ready` });

  let audit: Recorder;

  beforeAll(async () => {
    wisp = await WispProcess.create();
    await wisp.start();
    await apply(BROKER);
    await waitFor(async () => {
      const b = await getJson(wisp, '/apis/eventing.knative.dev/v1/namespaces/default/brokers/default');
      return b.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
    });
    // A Trigger without a filter sees every event the broker gets: the accounting test checks it against the metrics.
    audit = await recorder();
    await apply(trigger('audit', audit.url));
    await waitTriggerReady('audit');
  }, 60_000);

  afterAll(async () => {
    for (const r of recorders) await r.stop();
    await wisp.cleanup();
  });

  it('delivers only matching events, in binary and structured mode, and a batch of 3 as 3 deliveries', async () => {
    const sub = await recorder();
    await apply(trigger('orders', sub.url, { filter: typeFilter('dev.example.order') }));
    await waitTriggerReady('orders');

    expect((await send('dev.example.order')).status).toBe(202);
    expect((await send('dev.example.other')).status).toBe(202);
    const structured = await httpRequest({
      port: wisp.ports.broker,
      path: '/default/default',
      method: 'POST',
      headers: { 'content-type': 'application/cloudevents+json' },
      body: JSON.stringify({ specversion: '1.0', id: 'structured-1', source: '/e2e', type: 'dev.example.order', data: { n: 2 } }),
    });
    expect(structured.status).toBe(202);
    const batch = await httpRequest({
      port: wisp.ports.broker,
      path: '/default/default',
      method: 'POST',
      headers: { 'content-type': 'application/cloudevents-batch+json' },
      body: JSON.stringify([1, 2, 3].map((i) => ({ specversion: '1.0', id: `batch-${i}`, source: '/e2e', type: 'dev.example.order' }))),
    });
    expect(batch.status).toBe(202);

    await waitFor(() => sub.requests.length >= 5, { what: '5 deliveries' });
    await new Promise((r) => setTimeout(r, 300)); // nothing else may arrive
    expect(sub.requests.length).toBe(5);
    expect(sub.requests.every((r) => r.headers['ce-type'] === 'dev.example.order')).toBe(true);
    expect(sub.requests.map((r) => r.headers['ce-id'])).toEqual(expect.arrayContaining(['structured-1', 'batch-1', 'batch-2', 'batch-3']));
    expect(sub.requests[0]?.headers['prefer']).toBe('reply');
    expect(sub.requests[0]?.headers['ce-knativearrivaltime']).toBeTruthy();
  });

  it('gives two deliveries for two matching Triggers, and a CESQL Trigger casts a string extension', async () => {
    const a = await recorder();
    const b = await recorder();
    const sql = await recorder();
    await apply(trigger('both-a', a.url, { filter: typeFilter('dev.example.both') }));
    await apply(trigger('both-b', b.url, { filter: typeFilter('dev.example.both') }));
    await apply(trigger('big-orders', sql.url, { filter: `  filters:\n    - cesql: "type LIKE 'dev.example.%' AND amount > 100"` }));
    await Promise.all(['both-a', 'both-b', 'big-orders'].map(waitTriggerReady));

    expect((await send('dev.example.both')).status).toBe(202);
    await waitFor(() => a.requests.length === 1 && b.requests.length === 1, { what: 'one delivery each' });

    await send('dev.example.sql', { 'ce-amount': '150' });
    await send('dev.example.sql', { 'ce-amount': '50' });
    await send('dev.other.sql', { 'ce-amount': '500' });
    await send('dev.example.sql');
    await waitFor(() => sql.requests.length >= 1);
    await new Promise((r) => setTimeout(r, 300));
    expect(sql.requests.map((r) => `${r.headers['ce-type']}:${r.headers['ce-amount']}`)).toEqual(['dev.example.sql:150']);
  });

  it('retries 500, 500, 200 with retry 3 and delivers once, dead-letters nothing', async () => {
    const dls = await recorder();
    const flaky = await recorder((_r, i) => ({ status: i < 2 ? 500 : 200 }));
    const delivery = `  delivery:\n    retry: 3\n    backoffDelay: PT0.1S\n    deadLetterSink:\n      uri: ${dls.url}`;
    await apply(trigger('flaky', flaky.url, { filter: typeFilter('dev.example.flaky'), delivery }));
    await waitTriggerReady('flaky');
    await send('dev.example.flaky');
    await waitFor(() => flaky.requests.length === 3, { what: '3 attempts' });
    await new Promise((r) => setTimeout(r, 500));
    expect(flaky.requests.length).toBe(3);
    expect(dls.requests.length).toBe(0);
  });

  it('makes exactly 3 attempts with retry 2 against an always-500 subscriber, then dead-letters once', async () => {
    const dls = await recorder();
    const broken = await recorder(() => ({ status: 500, body: 'boom' }));
    const delivery = `  delivery:\n    retry: 2\n    backoffDelay: PT0.1S\n    deadLetterSink:\n      uri: ${dls.url}`;
    await apply(trigger('broken', broken.url, { filter: typeFilter('dev.example.broken'), delivery }));
    await waitTriggerReady('broken');
    await send('dev.example.broken');
    await waitFor(() => dls.requests.length === 1, { what: 'one dead letter' });
    await new Promise((r) => setTimeout(r, 300));
    expect(broken.requests.length).toBe(3);
    expect(dls.requests.length).toBe(1);
    const dead = dls.requests[0]!;
    expect(dead.headers['ce-type']).toBe('dev.example.broken');
    expect(dead.headers['ce-knativeerrorcode']).toBe('500');
    expect(dead.headers['ce-knativeerrordest']).toBe(broken.url);
    expect(Buffer.from(String(dead.headers['ce-knativeerrordata']), 'base64').toString()).toBe('boom');
  });

  it('routes a reply event to a second Trigger filtered on its type', async () => {
    const replier = await recorder(() => ({
      status: 200,
      headers: { 'ce-specversion': '1.0', 'ce-id': 'reply-1', 'ce-source': '/replier', 'ce-type': 'dev.example.reply', 'content-type': 'application/json' },
      body: '{"ok":true}',
    }));
    const replies = await recorder();
    await apply(trigger('asks', replier.url, { filter: typeFilter('dev.example.ask') }));
    await apply(trigger('replies', replies.url, { filter: typeFilter('dev.example.reply') }));
    await Promise.all(['asks', 'replies'].map(waitTriggerReady));
    await send('dev.example.ask');
    await waitFor(() => replies.requests.length === 1, { what: 'reply delivered' });
    expect(replies.requests[0]?.headers['ce-id']).toBe('reply-1');
    expect(replies.requests[0]?.body).toBe('{"ok":true}');
  });

  it('scales a subscriber Service up from zero for the first event', async () => {
    await apply(`apiVersion: v1
kind: ConfigMap
metadata: {name: config-autoscaler, namespace: knative-serving}
data: {allow-zero-initial-scale: "true"}
`);
    await apply(`apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: event-display
  namespace: default
spec:
  template:
    metadata:
      annotations:
        autoscaling.knative.dev/initial-scale: "0"
    spec:
      containers:
        - command: ["${process.execPath}", "event-display.js"]
          workingDir: ${HELLO_DIR}
`);
    const display = `apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: display, namespace: default}
spec:
  broker: default
  filter: {attributes: {type: dev.example.display}}
  subscriber: {ref: {apiVersion: serving.knative.dev/v1, kind: Service, name: event-display}}
`;
    await apply(display);
    await waitTriggerReady('display');
    const rev = await getJson(wisp, '/apis/serving.knative.dev/v1/namespaces/default/revisions/event-display-00001');
    expect(rev.status?.actualReplicas ?? 0).toBe(0);
    expect((await send('dev.example.display', { 'ce-id': 'display-1' })).status).toBe(202);
    await waitFor(async () => (await wisp.cli(['logs', 'event-display'])).stdout.includes('id: display-1'), { timeoutMs: 20_000, what: 'event-display logged the event' });
    const after = await getJson(wisp, '/apis/serving.knative.dev/v1/namespaces/default/revisions/event-display-00001');
    expect(after.status?.actualReplicas).toBe(1);
  });

  it('answers bad input with 400/404/405/413/415 and a reason, and keeps serving', async () => {
    const post = (headers: Record<string, string>, body: string, path = '/default/default', method = 'POST') =>
      httpRequest({ port: wisp.ports.broker, path, method, headers, body });
    const notJson = await post({ 'content-type': 'application/cloudevents+json' }, '{not json');
    expect(notJson.status).toBe(400);
    const noId = await post({ 'ce-specversion': '1.0', 'ce-source': '/e2e', 'ce-type': 't' }, '');
    expect(noId.status).toBe(400);
    expect(noId.body).toContain('id');
    const badVersion = await post({ 'content-type': 'application/cloudevents+json' }, JSON.stringify({ specversion: '2.0', id: '1', source: '/s', type: 't' }));
    expect(badVersion.status).toBe(400);
    expect(badVersion.body).toContain('2.0');
    expect((await post({ 'ce-specversion': '1.0', 'ce-id': '1', 'ce-source': '/s', 'ce-type': 't' }, '', '/default/nope')).status).toBe(404);
    const get = await post({}, '', '/default/default', 'GET');
    expect(get.status).toBe(405);
    expect(get.headers['allow']).toContain('POST');
    const big = await post({ 'ce-specversion': '1.0', 'ce-id': '1', 'ce-source': '/s', 'ce-type': 't', 'content-type': 'text/plain' }, 'x'.repeat(2 * 1024 * 1024));
    expect(big.status).toBe(413);
    expect((await post({ 'content-type': 'application/cloudevents+xml' }, '<event/>')).status).toBe(415);
    expect((await send('dev.example.still-ok')).status).toBe(202);
  });

  it('rejects a Trigger with two dialects in one filters element, or a CESQL syntax error, with the path and position', async () => {
    const twoDialects = trigger('bad-dialects', 'http://127.0.0.1:1', { filter: '  filters:\n    - exact: {type: a}\n      prefix: {type: b}' });
    const res1 = await wisp.cli(['apply', '-f', await yamlFile(twoDialects)]);
    expect(res1.code).toBe(1);
    expect(res1.stderr).toContain('spec.filters[0]');
    const badSql = trigger('bad-sql', 'http://127.0.0.1:1', { filter: `  filters:\n    - cesql: "type = 'a' AND )"` });
    const res2 = await wisp.cli(['apply', '-f', await yamlFile(badSql)]);
    expect(res2.code).toBe(1);
    expect(res2.stderr).toContain('spec.filters[0].cesql');
    expect(res2.stderr).toMatch(/column \d+/);
  });

  it('accounts for every accepted event in the metrics', async () => {
    let metrics = await (await wisp.fetch(`/metrics`)).text();
    const sum = (name: string, labelFilter = ''): number =>
      metrics
        .split('\n')
        .filter((l) => l.startsWith(name) && l.includes(labelFilter))
        .reduce((acc, l) => acc + Number(l.split(' ').at(-1)), 0);
    const accepted = sum('wisp_broker_events_accepted_total', 'broker="default/default"');
    expect(accepted).toBeGreaterThan(10);
    expect(sum('wisp_trigger_events_dead_lettered_total', 'trigger="default/broken"')).toBe(1);
    expect(sum('wisp_trigger_events_delivered_total', 'trigger="default/flaky"')).toBe(1);
    expect(sum('wisp_trigger_events_retried_total', 'trigger="default/flaky"')).toBe(2);
    // The unfiltered audit Trigger got every accepted event plus the one reply event, each delivered once.
    await waitFor(() => audit.requests.length === accepted + 1, { what: `audit saw ${audit.requests.length} of ${accepted + 1}` });
    metrics = await (await wisp.fetch(`/metrics`)).text();
    expect(sum('wisp_broker_events_accepted_total', 'broker="default/default"')).toBe(accepted);
    const label = 'trigger="default/audit"';
    const outcomes = ['filtered', 'delivered', 'dead_lettered', 'dropped'].map((o) => sum(`wisp_trigger_events_${o}_total`, label));
    expect(outcomes).toEqual([0, accepted + 1, 0, 0]);
  });
});
