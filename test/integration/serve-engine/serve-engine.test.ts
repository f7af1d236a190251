/**
 * The platform with `serveEngine: haproxy` and the real haproxy: warm revisions are served by haproxy (its `show stat`
 * counters move, the activator's do not), a revision goes back to the activator to scale to zero and comes back cold
 * with X-Wisp-Cold-Start, and a stream of requests across the whole cycle is answered 200 every time.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { startPlatform, type Platform } from '../../../src/platform/index.js';
import { ServeEngineModeError, masterCommand, parseShowProc } from '../../../src/platform/serve-engine/index.js';
import { ROOT } from '../../support/wisp.js';
import { waitFor } from '../../support/wait.js';

const FIXTURES = join(ROOT, 'test/fixtures/functions');

const FAST_AUTOSCALER = `apiVersion: v1
kind: ConfigMap
metadata:
  name: config-autoscaler
  namespace: knative-serving
data:
  stable-window: "6s"
  scale-to-zero-grace-period: "6s"
`;

function echoService(name: string, annotations: Record<string, string>, cc = 0): string {
  const ann = Object.entries(annotations)
    .map(([k, v]) => `        ${k}: "${v}"`)
    .join('\n');
  return `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: ${name}
  namespace: default
spec:
  template:
    metadata:
      annotations:
${ann}
    spec:
      containerConcurrency: ${cc}
      containers:
        - command: ["${process.execPath}", "echo-headers.js"]
          workingDir: ${FIXTURES}
`;
}

interface Started {
  platform: Platform;
  port: number;
  dir: string;
}

async function start(manifest: string): Promise<Started> {
  const dir = await mkdtemp(join(tmpdir(), 'wisp-serve-'));
  const file = join(dir, 'manifest.yaml');
  await writeFile(file, manifest);
  const platform = await startPlatform({
    stateDir: join(dir, 'state'),
    host: '127.0.0.1',
    apiHost: '127.0.0.1',
    ingressPort: 0,
    brokerPort: 0,
    apiPort: 0,
    brokerClass: 'Memory',
    manifests: [file],
    logLevel: 'warn',
    autoscalerTickMs: 500,
    serveEngine: { engine: 'haproxy' },
  });
  return { platform, port: Number(new URL(platform.urls.ingress!).port), dir };
}

function joined(raw: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const k = raw[i]!.toLowerCase();
    const prev = out.get(k);
    out.set(k, prev === undefined ? raw[i + 1]! : `${prev}, ${raw[i + 1]!}`);
  }
  return out;
}

const agent = new Agent({ keepAliveTimeout: 1000 });

async function get(port: number, host: string, path = '/'): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const res = await request(`http://127.0.0.1:${port}${path}`, { headers: { host }, dispatcher: agent, headersTimeout: 20_000 });
  return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
}

/** The engine's per-backend request totals (`stot`) from its stats page, through Wisp's own master CLI helper. */
async function backendTotals(stateDir: string): Promise<Map<string, number>> {
  const csv = await masterCommand(join(stateDir, 'haproxy', 'master.sock'), ['show stat -1 2 -1'], { worker: true });
  const lines = csv.split('\n');
  const header = (lines[0] ?? '').replace(/^#\s*/, '').split(',');
  const px = header.indexOf('pxname');
  const stot = header.indexOf('stot');
  const out = new Map<string, number>();
  for (const l of lines.slice(1)) {
    const f = l.split(',');
    if (f[1] === 'BACKEND') out.set(f[px]!, Number(f[stot]));
  }
  return out;
}

describe('serve engine: haproxy serves warm revisions (real haproxy)', () => {
  let s: Started | undefined;
  afterEach(async () => {
    await s?.platform.close();
    if (s) await rm(s.dir, { recursive: true, force: true });
    s = undefined;
  });

  it('refuses Kubernetes mode and split components with a precise error', async () => {
    const base = { stateDir: '/nonexistent', host: '127.0.0.1', apiHost: '127.0.0.1', ingressPort: 0, brokerPort: 0, apiPort: 0, brokerClass: 'Memory' as const, manifests: [] };
    await expect(startPlatform({ ...base, runtime: 'kubernetes', serveEngine: { engine: 'haproxy' } })).rejects.toThrow(ServeEngineModeError);
    await expect(startPlatform({ ...base, component: 'controller', serveEngine: { engine: 'haproxy' } })).rejects.toThrow(/--component all/);
  });

  it('serves a warm revision (target-burst-capacity 0) through haproxy with the activator\'s forwarding headers', async () => {
    s = await start(`${FAST_AUTOSCALER}---\n${echoService('echo', { 'autoscaling.knative.dev/target-burst-capacity': '0', 'autoscaling.knative.dev/min-scale': '1' })}`);
    const stateDir = join(s.dir, 'state');
    const host = `echo.default.localhost:${s.port}`;
    const first = await get(s.port, host);
    expect(first.status).toBe(200);

    // Ready with burst capacity: the host's map entry flips to the revision's backend.
    await waitFor(
      async () => {
        expect((await get(s!.port, host)).status).toBe(200);
        return ((await backendTotals(stateDir)).get('rev_default_echo-00001') ?? 0) > 0 || undefined;
      },
      { timeoutMs: 10_000, what: 'a request served by rev_default_echo-00001' },
    );
    const before = await backendTotals(stateDir);
    const served = await get(s.port, host, '/?x=1');
    expect(served.status).toBe(200);
    expect(served.headers['x-wisp-cold-start']).toBeUndefined();
    const after = await backendTotals(stateDir);
    expect((after.get('rev_default_echo-00001') ?? 0) - (before.get('rev_default_echo-00001') ?? 0)).toBe(1);
    expect((after.get('be_activator') ?? 0) - (before.get('be_activator') ?? 0)).toBe(0);

    // The forwarding headers the replica sees are the activator's (activator/headers.ts).
    // Seen as node:http shows them (a list split over header lines joined with ', ', as the activator writes it).
    const h = joined((JSON.parse(served.body) as { rawHeaders: string[] }).rawHeaders);
    expect(h.get('host')).toBe(host);
    expect(h.get('x-forwarded-for')).toBe('127.0.0.1');
    expect(h.get('x-forwarded-proto')).toBe('http');
    expect(h.get('x-forwarded-host')).toBe(host);
    expect(h.get('forwarded')).toBe(`for=127.0.0.1;host="${host}";proto=http`);
    const chained = await request(`http://127.0.0.1:${s.port}/`, { headers: { host: 'echo.default', 'x-forwarded-for': '10.0.0.9', forwarded: 'for=10.0.0.9', 'proxy-authorization': 'Basic eDp5' }, dispatcher: agent });
    const c = joined(((await chained.body.json()) as { rawHeaders: string[] }).rawHeaders);
    expect(c.get('x-forwarded-for')).toBe('10.0.0.9, 127.0.0.1');
    // The host is a quoted-string always (RFC 7239 allows it for any value; the activator quotes non-tokens only).
    expect(c.get('forwarded')).toBe('for=10.0.0.9, for=127.0.0.1;host="echo.default";proto=http');
    expect(c.has('proxy-authorization')).toBe(false);

    // Unknown hosts still get the activator's 404 naming the host.
    const unknown = await get(s.port, 'nope.default.localhost');
    expect(unknown.status).toBe(404);
    expect(unknown.body).toContain('no Service found for host "nope.default.localhost"');
  }, 60_000);

  it('loses no request across serve → scale-down → proxy → zero → cold start → serve, under a stream of requests', async () => {
    s = await start(`${FAST_AUTOSCALER}---\n${echoService('cycle', { 'autoscaling.knative.dev/target-burst-capacity': '0', 'autoscaling.knative.dev/initial-scale': '2' })}`);
    const stateDir = join(s.dir, 'state');
    const port = s.port;
    const host = `cycle.default.localhost:${port}`;
    const be = 'rev_default_cycle-00001';
    const statuses: number[] = [];
    const coldStarts: string[] = [];
    const stream = (): { stop: () => Promise<void> } => {
      let on = true;
      const loop = async (): Promise<void> => {
        while (on) {
          try {
            const r = await get(port, host, '/?sleep=10');
            statuses.push(r.status);
            const cs = r.headers['x-wisp-cold-start'];
            if (typeof cs === 'string') coldStarts.push(cs);
          } catch (err) {
            statuses.push(-1);
            throw err;
          }
        }
      };
      const loops = [loop(), loop(), loop()];
      return {
        stop: async () => {
          on = false;
          await Promise.all(loops);
        },
      };
    };
    const revision = async (): Promise<{ actual: number; desired: number }> => {
      const token = (await readFile(join(stateDir, 'token'), 'utf8')).trim();
      const res = await request(`${s!.platform.urls.api}/apis/serving.knative.dev/v1/namespaces/default/revisions/cycle-00001`, { headers: { authorization: `Bearer ${token}` }, dispatcher: agent });
      const rev = (await res.body.json()) as { status?: { actualReplicas?: number; desiredReplicas?: number } };
      return { actual: rev.status?.actualReplicas ?? -1, desired: rev.status?.desiredReplicas ?? -1 };
    };
    const mapValue = async (): Promise<string | undefined> => {
      const text = await masterCommand(join(stateDir, 'haproxy', 'master.sock'), [`show map ${join(stateDir, 'haproxy', 'hosts.map')}`], { worker: true });
      return / cycle\.default\.localhost (\S+)/.exec(text)?.[1];
    };

    // Warm at 2 replicas, served by haproxy; the light stream needs 1: the autoscaler scales down under load.
    await waitFor(async () => ((await revision()).actual === 2 ? true : undefined), { timeoutMs: 15_000, intervalMs: 100, what: 'initial scale 2' });
    const first = stream();
    await waitFor(async () => ((await backendTotals(stateDir)).get(be) ?? 0) > 20 || undefined, { timeoutMs: 15_000, what: 'requests served by haproxy' });
    await waitFor(async () => ((await revision()).actual === 1 ? true : undefined), { timeoutMs: 30_000, intervalMs: 200, what: 'scale-down to 1 under load' });
    const servedAfterScaleDown = (await backendTotals(stateDir)).get(be) ?? 0;
    await waitFor(async () => ((await backendTotals(stateDir)).get(be) ?? 0) > servedAfterScaleDown + 20 || undefined, { timeoutMs: 15_000, what: 'served by haproxy again after the scale-down' });
    await first.stop();

    // No traffic: to zero, through the activator (the host points at it before the replica is stopped).
    await waitFor(async () => ((await revision()).actual === 0 ? true : undefined), { timeoutMs: 40_000, intervalMs: 200, what: 'scale to zero' });
    expect(await mapValue()).toBe('be_activator');

    // Cold start through the activator, then back to haproxy, all under the stream.
    const activatorBefore = (await backendTotals(stateDir)).get('be_activator') ?? 0;
    const servedBefore = (await backendTotals(stateDir)).get(be) ?? 0;
    const second = stream();
    await waitFor(async () => ((await backendTotals(stateDir)).get(be) ?? 0) > servedBefore + 20 || undefined, { timeoutMs: 20_000, what: 'served by haproxy after the cold start' });
    await second.stop();
    expect((await backendTotals(stateDir)).get('be_activator') ?? 0).toBeGreaterThan(activatorBefore);
    expect(coldStarts.length).toBeGreaterThan(0);
    expect(Number(coldStarts[0])).toBeGreaterThan(0);
    expect(await mapValue()).toBe(be);
    expect(statuses.length).toBeGreaterThan(60);
    expect(statuses.filter((st) => st !== 200)).toEqual([]);
  }, 120_000);

  it('feeds haproxy\'s concurrency to the autoscaler: load served only by haproxy scales the revision up', async () => {
    s = await start(
      `${FAST_AUTOSCALER}---\n${echoService('busy', { 'autoscaling.knative.dev/target-burst-capacity': '-1', 'autoscaling.knative.dev/target': '1', 'autoscaling.knative.dev/min-scale': '1', 'autoscaling.knative.dev/max-scale': '3' })}`,
    );
    const stateDir = join(s.dir, 'state');
    const port = s.port;
    const host = `busy.default.localhost:${port}`;
    const be = 'rev_default_busy-00001';
    await waitFor(
      async () => {
        expect((await get(port, host)).status).toBe(200);
        return ((await backendTotals(stateDir)).get(be) ?? 0) > 0 || undefined;
      },
      { timeoutMs: 10_000, what: 'served by haproxy' },
    );
    const activatorBefore = (await backendTotals(stateDir)).get('be_activator') ?? 0;
    const token = (await readFile(join(stateDir, 'token'), 'utf8')).trim();
    const desired = async (): Promise<number> => {
      const res = await request(`${s!.platform.urls.api}/apis/serving.knative.dev/v1/namespaces/default/revisions/busy-00001`, { headers: { authorization: `Bearer ${token}` }, dispatcher: agent });
      return ((await res.body.json()) as { status?: { desiredReplicas?: number } }).status?.desiredReplicas ?? 0;
    };
    expect(await desired()).toBe(1);
    let on = true;
    const statuses: number[] = [];
    const loop = async (): Promise<void> => {
      while (on) statuses.push((await get(port, host, '/?sleep=100')).status);
    };
    const loops = [loop(), loop(), loop(), loop()];
    try {
      await waitFor(async () => ((await desired()) >= 2 ? true : undefined), { timeoutMs: 20_000, intervalMs: 200, what: 'scale-up from haproxy\'s stats' });
    } finally {
      on = false;
      await Promise.all(loops);
    }
    expect(statuses.filter((st) => st !== 200)).toEqual([]);
    // Every request went through haproxy's revision backend, none through the activator.
    expect((await backendTotals(stateDir)).get('be_activator') ?? 0).toBe(activatorBefore);
  }, 60_000);

  it('detects a crash of haproxy and restarts it with the whole current state', async () => {
    s = await start(`${FAST_AUTOSCALER}---\n${echoService('crash', { 'autoscaling.knative.dev/target-burst-capacity': '0', 'autoscaling.knative.dev/min-scale': '1' })}`);
    const stateDir = join(s.dir, 'state');
    const port = s.port;
    const host = `crash.default.localhost:${port}`;
    const be = 'rev_default_crash-00001';
    const servedByHaproxy = async (): Promise<true | undefined> => {
      const r = await get(port, host).catch(() => undefined);
      if (r?.status !== 200) return undefined;
      return ((await backendTotals(stateDir).catch(() => new Map<string, number>())).get(be) ?? 0) > 0 || undefined;
    };
    await waitFor(servedByHaproxy, { timeoutMs: 10_000, what: 'served by haproxy' });
    const proc = parseShowProc(await masterCommand(join(stateDir, 'haproxy', 'master.sock'), ['show proc'], { worker: false }));
    const worker = proc.workers[0]!;
    process.kill(worker, 'SIGKILL'); // a worker crash: the master exits with it (haproxy's exit-on-failure)
    await waitFor(async () => (parseShowProc(await masterCommand(join(stateDir, 'haproxy', 'master.sock'), ['show proc'], { worker: false }).catch(() => '')).workers.some((w) => w !== worker) ? true : undefined), {
      timeoutMs: 15_000,
      intervalMs: 100,
      what: 'a new haproxy worker',
    });
    // The restarted haproxy has the revision's backend, endpoint and map entry from the rendered state.
    await waitFor(servedByHaproxy, { timeoutMs: 10_000, what: 'served by haproxy after the restart' });
  }, 60_000);
});
