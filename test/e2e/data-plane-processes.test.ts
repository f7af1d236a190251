import { randomUUID } from 'node:crypto';
import { Agent, createServer, request, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { childPids, holdersOf } from '../support/proc-sockets.js';
import { deleteKeys } from '../support/redis.js';
import { waitFor } from '../support/wait.js';
import { ROOT, WispProcess } from '../support/wisp.js';
import { getJson, revPath, waitReady, yamlFile } from './helpers.js';

const CONFIG = `apiVersion: v1
kind: ConfigMap
metadata: {name: config-autoscaler, namespace: knative-serving}
data:
  allow-zero-initial-scale: "true"
`;

function inflightService(name: string, cc: number, annotations: Record<string, string>): string {
  const ann = Object.entries(annotations)
    .map(([k, v]) => `        ${k}: "${v}"`)
    .join('\n');
  return `apiVersion: serving.knative.dev/v1
kind: Service
metadata: {name: ${name}, namespace: default}
spec:
  template:
    metadata:
      annotations:
${ann}
    spec:
      containerConcurrency: ${cc}
      containers:
        - command: ["${process.execPath}", "test/fixtures/inflight.js"]
          workingDir: ${ROOT}
`;
}

interface Answer {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
  /** The client's end of the connection: the worker that accepted it holds (ingress port, this). */
  localPort: number;
}

function send(agent: Agent, opts: { port: number; host?: string; path: string; method?: string; headers?: Record<string, string>; body?: string }): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: opts.port, path: opts.path, method: opts.method ?? 'GET', agent, timeout: 30_000, headers: { ...(opts.host && { host: opts.host }), ...opts.headers } },
      (res) => {
        const localPort = res.socket.localPort ?? 0;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), headers: res.headers, localPort }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${opts.path} timed out`)));
    req.on('error', reject);
    req.end(opts.body);
  });
}

describe('wisp up --data-plane-processes 2 (e2e)', () => {
  let wisp: WispProcess;
  const redisPrefix = `wisp-e2e-dpp-${randomUUID()}`;
  const agents: Agent[] = [];
  const agent = (): Agent => {
    const a = new Agent({ keepAlive: true, maxSockets: 50 });
    agents.push(a);
    return a;
  };
  const apply = async (yaml: string): Promise<void> => {
    const res = await wisp.cli(['apply', '-f', await yamlFile(yaml)]);
    expect(res.code, res.stderr).toBe(0);
  };
  const workers = (): number[] => childPids(wisp.pid!, 'worker-main');
  /** Which worker holds each client connection to the Service ingress (or another port). */
  const acceptedBy = (answers: Answer[], port = wisp.ports.ingress): Map<number, number> => {
    const held = holdersOf(answers.map((a) => ({ localPort: port, remotePort: a.localPort })), workers());
    const count = new Map<number, number>();
    for (const pid of held.values()) count.set(pid, (count.get(pid) ?? 0) + 1);
    return count;
  };

  beforeAll(async () => {
    wisp = await WispProcess.create({ WISP_DATA_PLANE_PROCESSES: '2', WISP_REDIS_PREFIX: redisPrefix });
    await wisp.start();
    await apply(CONFIG);
    expect(workers()).toHaveLength(2);
  }, 60_000);

  afterAll(async () => {
    for (const a of agents) a.destroy();
    await wisp?.cleanup();
    await deleteKeys(redisPrefix);
    // Every worker went with its primary.
    if (wisp?.pid !== undefined) expect(childPids(wisp.pid, 'worker-main')).toEqual([]);
  });

  it('scales a Service from zero through both workers, and never has 2 requests in flight at its one replica with cc 1', async () => {
    await apply(inflightService('one', 1, { 'autoscaling.knative.dev/initial-scale': '0', 'autoscaling.knative.dev/max-scale': '1' }));
    await waitReady(wisp, 'one');
    expect((await getJson(wisp, revPath('one-00001'))).status?.actualReplicas).toBe(0);

    const a = agent();
    const answers = await Promise.all(Array.from({ length: 12 }, () => send(a, { port: wisp.ports.ingress, host: 'one.default.localhost', path: '/?sleep=50' })));
    expect(answers.map((r) => r.status)).toEqual(Array(12).fill(200));
    expect(answers.some((r) => Number(r.headers['x-wisp-cold-start']) > 0)).toBe(true);
    // Both workers accepted some of the 12 connections.
    const by = acceptedBy(answers);
    expect([...by.keys()].sort(), JSON.stringify([...by])).toEqual(workers());

    const max = JSON.parse((await send(a, { port: wisp.ports.ingress, host: 'one.default.localhost', path: '/max' })).body) as { max: number; served: number };
    expect(max).toEqual({ max: 1, served: 12, inFlight: 0 });
  }, 60_000);

  /** 80 events through a Broker of `brokerClass` to one Trigger: every one delivered once; which workers delivered. */
  async function brokerRound(brokerClass: string, broker: string): Promise<{ deliverers: number[]; metrics: string }> {
    const seen: { id: string; from: number }[] = [];
    const subscriber: Server = createServer((req, res) => {
      seen.push({ id: String(req.headers['ce-id']), from: req.socket.remotePort ?? 0 });
      req.resume();
      res.writeHead(202).end();
    });
    await new Promise<void>((r) => subscriber.listen(0, '127.0.0.1', r));
    const subPort = (subscriber.address() as { port: number }).port;
    try {
      await apply(`apiVersion: eventing.knative.dev/v1
kind: Broker
metadata:
  name: ${broker}
  namespace: default
  annotations: {eventing.knative.dev/broker.class: ${brokerClass}}
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: ${broker}-all, namespace: default}
spec:
  broker: ${broker}
  subscriber: {uri: "http://127.0.0.1:${subPort}"}
`);
      await waitFor(async () => {
        const t = await getJson(wisp, `/apis/eventing.knative.dev/v1/namespaces/default/triggers/${broker}-all`);
        return t.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
      }, { what: `trigger ${broker}-all Ready` });

      const a = agent();
      const ids = Array.from({ length: 80 }, () => randomUUID());
      const answers = await Promise.all(
        ids.map((id) =>
          send(a, {
            port: wisp.ports.broker,
            path: `/default/${broker}`,
            method: 'POST',
            headers: { 'ce-specversion': '1.0', 'ce-id': id, 'ce-source': '/e2e', 'ce-type': 'dev.example', 'content-type': 'application/json' },
            body: '{"n":1}',
          }),
        ),
      );
      expect(answers.map((r) => r.status)).toEqual(Array(80).fill(202));
      expect(acceptedBy(answers, wisp.ports.broker).size, 'the broker ingress connections were accepted by both workers').toBe(2);
      await waitFor(() => seen.length >= 80, { what: '80 deliveries' });
      // Once each: the workers' consumers share the Trigger, none delivers another's events.
      await new Promise((r) => setTimeout(r, 300));
      expect(seen.map((s) => s.id).sort()).toEqual([...ids].sort());
      const held = holdersOf([...new Set(seen.map((s) => s.from))].map((from) => ({ localPort: from, remotePort: subPort })), workers());
      const metrics = await (await wisp.fetch('/metrics')).text();
      return { deliverers: [...new Set(held.values())].sort(), metrics };
    } finally {
      await new Promise<void>((r) => {
        subscriber.closeAllConnections();
        subscriber.close(() => r());
      });
    }
  }

  it('delivers every event of a Memory Broker + Trigger once, accepted and dispatched by both workers', async () => {
    const { deliverers, metrics } = await brokerRound('MTChannelBasedBroker', 'mem');
    // A Memory broker's events are dispatched by the worker that accepted them: deliveries came from both.
    expect(deliverers).toEqual(workers());
    // /metrics sums the workers' series: every event counted once.
    const accepted = /wisp_broker_events_accepted_total\{[^}]*broker="default\/mem"[^}]*\} (\d+)/.exec(metrics);
    expect(Number(accepted?.[1]), metrics.slice(0, 2000)).toBe(80);
  }, 60_000);

  it('delivers every event of a Redis Broker once, the workers consuming its Trigger as competing consumers', async () => {
    const { deliverers } = await brokerRound('Redis', 'red');
    expect(deliverers.length).toBeGreaterThanOrEqual(1);
    expect(workers()).toEqual(expect.arrayContaining(deliverers));
  }, 60_000);

  it('adds up both workers\' stats in the autoscaler, which scales up under load', async () => {
    await apply(inflightService('load', 0, { 'autoscaling.knative.dev/target': '3', 'autoscaling.knative.dev/window': '6s', 'autoscaling.knative.dev/max-scale': '6' }));
    await waitReady(wisp, 'load');

    // 8 clients, each on one keep-alive connection (so on one worker), keep a request in flight for 9 s.
    const a = agent();
    const first: Answer[] = [];
    const until = Date.now() + 9_000;
    const desired: number[] = [];
    let stable = 0;
    const clients = Array.from({ length: 8 }, async () => {
      while (Date.now() < until) {
        const r = await send(a, { port: wisp.ports.ingress, host: 'load.default.localhost', path: '/?sleep=500' });
        expect(r.status).toBe(200);
        if (first.length < 8 && !first.some((f) => f.localPort === r.localPort)) first.push(r);
      }
    });
    const sampler = (async () => {
      while (Date.now() < until) {
        const rev = await getJson(wisp, revPath('load-00001'));
        desired.push(rev.status?.desiredReplicas ?? 0);
        const m = /wisp_autoscaler_stable_concurrency\{revision="default\/load-00001"\} ([\d.]+)/.exec(await (await wisp.fetch('/metrics')).text());
        if (m) stable = Math.max(stable, Number(m[1]));
        await new Promise((r) => setTimeout(r, 250));
      }
    })();
    await Promise.all([...clients, sampler]);

    const by = acceptedBy(first);
    expect(by.size, JSON.stringify([...by])).toBe(2);
    const mostOnOneWorker = Math.max(...by.values());
    // The autoscaler saw more concurrency than any one worker held: it added both sources.
    expect(stable, `per worker ${JSON.stringify([...by])}`).toBeGreaterThan(mostOnOneWorker + 0.5);
    expect(Math.max(...desired), `desired ${desired.join(',')}`).toBeGreaterThanOrEqual(2);
  }, 60_000);

  it('starts a killed worker again (logged) and keeps serving through both', async () => {
    const before = workers();
    const victim = before[1]!;
    process.kill(victim, 'SIGKILL');
    const after = await waitFor(() => {
      const now = workers();
      return now.length === 2 && !now.includes(victim) ? now : undefined;
    }, { timeoutMs: 20_000, what: 'the killed worker started again' });
    // The primary logs it as an error (its stderr reaches this process a moment later).
    const logged = new RegExp(`ERROR +data-plane worker \\d \\(pid ${victim}\\) was killed by SIGKILL`);
    await waitFor(() => logged.test(wisp.output), { timeoutMs: 5_000, what: `the log line for ${victim}` });

    // Once the new worker listens, new connections reach it as well.
    const restarted = after.find((p) => !before.includes(p))!;
    await waitFor(async () => {
      const a = agent();
      const answers = await Promise.all(Array.from({ length: 8 }, () => send(a, { port: wisp.ports.ingress, host: 'load.default.localhost', path: '/?sleep=20' })));
      expect(answers.map((r) => r.status)).toEqual(Array(8).fill(200));
      return acceptedBy(answers).has(restarted);
    }, { timeoutMs: 20_000, what: 'the restarted worker serving' });
  }, 60_000);
});
