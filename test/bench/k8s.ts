/**
 * Scale-from-zero overhead in Kubernetes mode next to embedded mode, and the split install (controller and
 * activator as two processes, the poke and stats crossing HTTP): `npm run bench:k8s` (root: the test kubelet
 * gives each Pod a network namespace). One run starts a control plane built from source (test/support/k8s), a test
 * kubelet, `wisp up --runtime kubernetes` and an embedded `wisp up`, both serving the same function
 * (examples/quickstart/hello.js, wrapped by test/bench/k8s-hello.js so it reports its own process start and listen
 * time). Each round waits until both revisions are at zero, then sends one request to each through its activator.
 * overhead = first response − the replica's own start (process start → listening, as it measured it): what the
 * platform adds (scale decision, creating the replica, readiness detection, dispatch, proxying).
 *
 * Env: TRIALS (default 10 per mode, plus one warm-up round not counted), KUBELET_PROBE_MS (the test kubelet's cap on
 * readiness probe periods, default 50 ms = the embedded runtime's probe interval; 1000 = the period as Wisp writes it),
 * WISP_AUTOSCALER_TICK_MS (default 500, both modes).
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startControlPlane, type ControlPlane } from '../support/k8s/control-plane.js';
import { startKubelet, type Kubelet } from '../support/k8s/kubelet.js';
import { httpRequest } from '../support/http.js';
import { freePort, waitFor } from '../support/wait.js';
import { ROOT, WispProcess } from '../support/wisp.js';
import { NamespaceRecorder, nowMs, timeline, type K8sTimeline } from './k8s-watch.js';

const TRIALS = Number(process.env.TRIALS ?? 10);
const PROBE_MS = Number(process.env.KUBELET_PROBE_MS ?? 50);
const TICK_MS = process.env.WISP_AUTOSCALER_TICK_MS ?? '500';
const NS = `wisp-bench-${randomUUID().slice(0, 6)}`;
/** The split install's namespace: `--namespace-scope` keeps its controller from the other Wisp's ksvc. */
const SPLIT_NS = `${NS}-split`;
const SVC = 'hello';
const REV = `${SVC}-00001`;
const HOST = `${SVC}.${NS}.localhost`;
const BENCH_DIR = join(ROOT, 'test/bench');
const IMAGE = 'example.com/hello';

const AUTOSCALER_CM = `apiVersion: v1
kind: ConfigMap
metadata:
  name: config-autoscaler
  namespace: knative-serving
data:
  stable-window: "6s"
  scale-to-zero-grace-period: "2s"
`;

function ksvc(container: string, ns = NS): string {
  return `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: ${SVC}
  namespace: ${ns}
spec:
  template:
    spec:
      containerConcurrency: 0
      containers:
${container}          env:
            - name: TARGET
              value: "bench"
`;
}
/** Kubernetes: an image only, as Knative YAML; the test kubelet runs it as the fixture. */
const K8S_KSVC = ksvc(`        - image: ${IMAGE}\n`);
const SPLIT_KSVC = ksvc(`        - image: ${IMAGE}\n`, SPLIT_NS);
/** Embedded: the same fixture as a local process. */
const EMBEDDED_KSVC = ksvc(`        - command: ["${process.execPath}", "k8s-hello.js"]\n          workingDir: ${BENCH_DIR}\n`);

interface Sample {
  /** request sent → whole response received */
  total: number;
  /** the replica's own process start → listening */
  own: number;
  overhead: number;
  /** x-wisp-cold-start: how long the activator held the request for a replica */
  coldHeader: number;
  t0: number;
  t1: number;
  processStart: number;
  listenAt: number;
  k8s?: K8sTimeline;
}

// ---- lifecycle: everything started is stopped, in reverse order, on success, error, Ctrl-C ----
const cleanups: { what: string; fn: () => Promise<void> }[] = [];
const children: WispProcess[] = [];
let stopping = false;
let cleaning: Promise<void> | undefined;
const log = (m: string): void => console.error(m);

function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    for (const c of cleanups.splice(0).reverse()) {
      try {
        await c.fn();
      } catch (err) {
        log(`cleanup (${c.what}) failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  })();
  return cleaning;
}
function onSignal(signal: NodeJS.Signals): void {
  if (stopping) {
    log(`${signal} again: exiting now`);
    process.exit(130);
  }
  stopping = true;
  log(`\n${signal}: stopping everything this benchmark started…`);
  void cleanup().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
}
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);
// Last resort (process.exit mid-start): no wisp up outlives the bench. The control plane and kubelet kill theirs on exit.
process.on('exit', () => {
  for (const w of children) w.child?.kill('SIGKILL');
});
function checkStopping(): void {
  if (stopping) throw new Error('stopped');
}

// ---- requests and waits ----
async function coldRequest(wisp: WispProcess, host = HOST): Promise<Sample> {
  const t0 = nowMs();
  const res = await httpRequest({ port: wisp.ports.ingress, host, timeoutMs: 60_000 });
  const t1 = nowMs();
  if (res.status !== 200 || !res.body.startsWith('Hello bench!')) throw new Error(`status ${res.status}: ${res.body}`);
  const processStart = Number(res.headers['x-bench-process-start']);
  const listenAt = Number(res.headers['x-bench-listen-at']);
  const coldHeader = Number(res.headers['x-wisp-cold-start']);
  if (!Number.isFinite(processStart) || !Number.isFinite(listenAt)) throw new Error(`no x-bench-* headers: ${JSON.stringify(res.headers)}`);
  if (!(coldHeader > 0)) throw new Error(`not a cold start (x-wisp-cold-start ${String(res.headers['x-wisp-cold-start'])}): the revision was not at zero`);
  const own = listenAt - processStart;
  return { total: t1 - t0, own, overhead: t1 - t0 - own, coldHeader, t0, t1, processStart, listenAt };
}

interface Mode {
  name: 'embedded' | 'kubernetes' | 'split';
  wisp: WispProcess;
  host: string;
  atZero(): Promise<boolean>;
  samples: Sample[];
}

async function embeddedAtZero(wisp: WispProcess): Promise<boolean> {
  const res = await wisp.fetch(`/apis/serving.knative.dev/v1/namespaces/${NS}/revisions/${REV}`);
  if (res.status !== 200) return false;
  const rev = (await res.json()) as { status?: { actualReplicas?: number; desiredReplicas?: number } };
  return rev.status?.actualReplicas === 0 && rev.status.desiredReplicas === 0;
}

async function kubernetesAtZero(cp: ControlPlane, ns = NS): Promise<boolean> {
  const d = await cp.kubectl(['get', '-n', ns, `deploy/${REV}-deployment`, '-o', 'jsonpath={.spec.replicas}']);
  if (d.code !== 0 || d.stdout.trim() !== '0') return false;
  const pods = await cp.kubectl(['get', 'pods', '-n', ns, '-l', `serving.knative.dev/revision=${REV}`, '-o', 'name']);
  return pods.code === 0 && pods.stdout.trim() === '';
}

async function kubectlOk(cp: ControlPlane, args: string[], input?: string): Promise<string> {
  const r = await cp.kubectl(args, input !== undefined ? { input } : {});
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr.trim()}`);
  return r.stdout;
}

// ---- statistics and printing ----
function pct(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
}
const mean = (v: readonly number[]): number => (v.length ? v.reduce((a, b) => a + b, 0) / v.length : NaN);
const f = (n: number, w = 7): string => (Number.isFinite(n) ? n.toFixed(1) : '–').padStart(w);
const stats = (v: readonly number[]): string => `${f(pct(v, 50))} ${f(pct(v, 99))} ${f(mean(v))}`;
/** A column group's title over the 23 characters of stats(), and the p50/p99/mean line under it. */
const group = (title: string): string => ` ${`── ${title} `.padEnd(22, '─')}`;
const SUB = `${'p50'.padStart(7)} ${'p99'.padStart(7)} ${'mean'.padStart(7)}`;

function printResults(embedded: Sample[], kube: Sample[], split: Sample[]): void {
  const rows: [string, (s: Sample) => number][] = [
    ['total (first response)', (s) => s.total],
    ['own start→listen', (s) => s.own],
    ['overhead = total − own', (s) => s.overhead],
    ['x-wisp-cold-start header', (s) => s.coldHeader],
  ];
  console.log(`\n${TRIALS} trials per mode (ms; p99 of ${TRIALS} samples is their maximum)\n`);
  console.log(`${''.padEnd(26)}${group('embedded')}   ${group('kubernetes')}   ${group('kubernetes, split')}`);
  console.log(`${''.padEnd(26)}${SUB}   ${SUB}   ${SUB}`);
  for (const [label, fn] of rows) console.log(`${label.padEnd(26)}${stats(embedded.map(fn))}   ${stats(kube.map(fn))}   ${stats(split.map(fn))}`);
  const p50 = (v: Sample[]): number => pct(v.map((s) => s.overhead), 50);
  console.log(`\noverhead p50, kubernetes / embedded: ${(p50(kube) / p50(embedded)).toFixed(1)}×`);
  console.log(`overhead p50, split (controller + activator processes) / kubernetes (one process): ${(p50(split) / p50(kube)).toFixed(2)}×`);

  console.log('\nWhere the time goes (ms, p50 / p99 / mean; step = from the previous row\'s event to this one)');
  console.log(`${''.padEnd(60)}${group('embedded')}   ${group('kubernetes')}`);
  console.log(`${''.padEnd(60)}${SUB}   ${SUB}`);
  const both: [string, (s: Sample) => number][] = [
    ['request → replica process started (decide, create, spawn)', (s) => s.processStart - s.t0],
    ['process start → listening (own)', (s) => s.own],
    ['listening → response (readiness, endpoints, proxy)', (s) => s.t1 - s.listenAt],
  ];
  for (const [label, fn] of both) console.log(`${label.padEnd(60)}${stats(embedded.map(fn))}   ${stats(kube.map(fn))}`);

  console.log('\nKubernetes mode, step by step (the bench\'s own watch; n = trials where both events were seen)');
  type Point = (s: Sample) => number | undefined;
  const k = (key: keyof K8sTimeline): Point => (s) => s.k8s?.[key];
  const chain: [string, Point][] = [
    ['request sent', (s) => s.t0],
    ['Deployment spec.replicas 1 (Wisp: poke → autoscaler → scale write)', k('scaled')],
    ['ReplicaSet spec.replicas 1 (Deployment controller)', k('replicaSetScaled')],
    ['Pod created (ReplicaSet controller)', k('podCreated')],
    ['Pod bound to the node (test kubelet; no scheduler here)', k('podBound')],
    ['Pod network namespace up (test kubelet)', k('sandboxReady')],
    ['replica process started (test kubelet spawn, node boot)', (s) => s.processStart],
    ['replica listening (own start)', (s) => s.listenAt],
    ['Pod Ready=True (readiness probe + status write)', k('podReady')],
    ['EndpointSlice endpoint ready (EndpointSlice controller)', k('sliceReady')],
    ['response (Wisp sees the slice → activator dispatch → proxy)', (s) => s.t1],
  ];
  console.log(`${'step'.padEnd(72)}${SUB}    n`);
  for (let i = 1; i < chain.length; i++) {
    const [label, at] = chain[i]!;
    const prev = chain[i - 1]![1];
    const d = kube.map((s) => {
      const a = prev(s);
      const b = at(s);
      return a === undefined || b === undefined ? undefined : b - a;
    }).filter((x): x is number => x !== undefined);
    console.log(`${label.padEnd(72)}${stats(d)} ${String(d.length).padStart(4)}`);
  }
  const running = kube.map((s) => (s.k8s?.podRunning !== undefined ? s.k8s.podRunning - s.processStart : undefined)).filter((x): x is number => x !== undefined);
  console.log(`(Pod status "running" written by the kubelet, relative to the process start: p50 ${pct(running, 50).toFixed(1)} ms.`);
  console.log(' Steps of a few ms can come out negative: each kind arrives on its own watch stream, in its own order.)');
}

// ---- the run ----
async function main(): Promise<void> {
  console.log(
    [
      'Scale from zero, Kubernetes mode next to embedded mode, same function, same run.',
      'Method: one request per trial to a revision at zero replicas, through each mode\'s activator (Host ' + HOST + ').',
      '  total    = request sent → whole response received (this process, same machine and clock as everything else)',
      '  own      = the replica\'s own start: Node process start (performance.timeOrigin) → its server listening, as it reports',
      '  overhead = total − own: the scale decision, creating and starting the replica, readiness detection, dispatch, proxy',
      `Function: examples/quickstart/hello.js via test/bench/k8s-hello.js; embedded: command + workingDir; Kubernetes: image ${IMAGE},`,
      '  run by the test kubelet as the same command in a network namespace per Pod (a real kube-apiserver, etcd and',
      '  kube-controller-manager built from source; no scheduler, the test kubelet binds Pods).',
      `Settings: WISP_AUTOSCALER_TICK_MS=${TICK_MS} both; config-autoscaler stable-window 6s, scale-to-zero-grace-period 2s;`,
      `  embedded readiness probe every 50 ms; test kubelet readiness probe period capped at ${PROBE_MS} ms (Wisp writes periodSeconds: 1).`,
      'Each round waits until both revisions are at zero (embedded: actualReplicas 0; Kubernetes: Deployment replicas 0 and',
      'no Pods), then one request to each, alternating which goes first. The first round is a warm-up, not counted.',
      `Split: \`wisp up --component controller\` and \`--component activator\` as two processes (namespace ${SPLIT_NS}): the`,
      '  poke and the stats go over HTTP to the controller\'s autoscaler, the activator routes from its own watch.',
      'Step times come from a watch run by the bench (arrival time of each event): the objects\' timestamps',
      '(creationTimestamp, lastTransitionTime, startedAt) have 1 s resolution, too coarse for these steps.',
    ].join('\n'),
  );

  log('bench: starting the control plane…');
  const cp = await startControlPlane({ log: (m) => log(`  ${m}`) });
  cleanups.push({ what: 'control plane', fn: () => cp.stop() });
  checkStopping();

  await kubectlOk(cp, ['apply', '-f', join(ROOT, 'manifests/crds')]);
  await kubectlOk(cp, ['wait', '--for=condition=Established', 'crd', '--all', '--timeout=60s']);
  await kubectlOk(cp, ['create', 'namespace', NS]);
  await kubectlOk(cp, ['create', 'namespace', SPLIT_NS]);
  await kubectlOk(cp, ['create', 'namespace', 'knative-serving']);
  await kubectlOk(cp, ['apply', '-f', '-'], AUTOSCALER_CM);
  checkStopping();

  const kubeletLines: { at: number; line: string }[] = [];
  const kubelet: Kubelet = await startKubelet({
    kubeconfigPath: cp.kubeconfigPath,
    nodeName: `wisp-bench-node-${randomUUID().slice(0, 6)}`,
    namespaces: [NS, SPLIT_NS],
    images: { [IMAGE]: { command: [process.execPath, join(BENCH_DIR, 'k8s-hello.js')] } },
    probeMaxPeriodMs: PROBE_MS,
    log: (line) => kubeletLines.push({ at: nowMs(), line }),
  });
  cleanups.push({ what: 'test kubelet', fn: () => kubelet.stop({ deleteNode: true }) });
  log(`bench: test kubelet on node ${kubelet.nodeName}, ${kubelet.network.mode} Pod network ${kubelet.network.podCIDR}`);
  if (kubelet.network.mode !== 'netns') log('bench: WARNING: not root (or no iproute2): Pods run on loopback addresses, not in network namespaces');
  checkStopping();

  const recorder = new NamespaceRecorder(cp.kubeconfigPath, NS);
  cleanups.push({ what: 'watch', fn: () => recorder.close() });

  const env = { WISP_AUTOSCALER_TICK_MS: TICK_MS };
  const kubeWisp = await WispProcess.create(env);
  children.push(kubeWisp);
  cleanups.push({ what: 'wisp up --runtime kubernetes', fn: () => kubeWisp.cleanup() });
  await kubeWisp.start([], { args: ['--runtime', 'kubernetes', '--kubeconfig', cp.kubeconfigPath, '--namespace-scope', NS] });
  checkStopping();

  // The split install: a controller told where its activator listens, and that activator reporting to it.
  const splitActivator = await WispProcess.create();
  const splitController = await WispProcess.create({ ...env, WISP_ACTIVATOR_URL: `http://127.0.0.1:${splitActivator.ports.ingress}`, WISP_BROKER_INGRESS_URL: 'http://127.0.0.1:9' });
  children.push(splitController, splitActivator);
  cleanups.push({ what: 'wisp up --component controller', fn: () => splitController.cleanup() });
  cleanups.push({ what: 'wisp up --component activator', fn: () => splitActivator.cleanup() });
  const statsPort = await freePort();
  const splitScope = ['--runtime', 'kubernetes', '--kubeconfig', cp.kubeconfigPath, '--namespace-scope', SPLIT_NS];
  await splitController.start([], { args: [...splitScope, '--component', 'controller', '--autoscaler-port', String(statsPort)] });
  await splitActivator.start([], { args: [...splitScope, '--component', 'activator', '--autoscaler-url', `http://127.0.0.1:${statsPort}`] });
  checkStopping();

  const manifestDir = await mkdtemp(join(tmpdir(), 'wisp-bench-k8s-'));
  cleanups.push({ what: 'manifests', fn: () => rm(manifestDir, { recursive: true, force: true }) });
  const manifest = join(manifestDir, 'embedded.yaml');
  await writeFile(manifest, `${AUTOSCALER_CM}---\n${EMBEDDED_KSVC}`);
  const embWisp = await WispProcess.create(env);
  children.push(embWisp);
  cleanups.push({ what: 'wisp up (embedded)', fn: () => embWisp.cleanup() });
  await embWisp.start([manifest]);
  checkStopping();
  log(`bench: wisp up --runtime kubernetes on :${kubeWisp.ports.ingress}, embedded wisp up on :${embWisp.ports.ingress}`);

  await kubectlOk(cp, ['apply', '-f', '-'], K8S_KSVC);
  await kubectlOk(cp, ['apply', '-f', '-'], SPLIT_KSVC);
  for (const ns of [NS, SPLIT_NS]) {
    await waitFor(
      async () => (await cp.kubectl(['get', '-n', ns, `ksvc/${SVC}`, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}'])).stdout.trim() === 'True',
      { timeoutMs: 90_000, intervalMs: 250, what: `ksvc ${ns}/${SVC} READY True (Kubernetes mode)` },
    );
  }
  await waitFor(
    async () => {
      const res = await embWisp.fetch(`/apis/serving.knative.dev/v1/namespaces/${NS}/services/${SVC}`);
      const svc = (await res.json()) as { status?: { conditions?: { type: string; status: string }[] } };
      return svc.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
    },
    { timeoutMs: 60_000, intervalMs: 250, what: `service ${NS}/${SVC} Ready (embedded)` },
  );

  const modes: Mode[] = [
    { name: 'embedded', wisp: embWisp, host: HOST, atZero: () => embeddedAtZero(embWisp), samples: [] },
    { name: 'kubernetes', wisp: kubeWisp, host: HOST, atZero: () => kubernetesAtZero(cp), samples: [] },
    { name: 'split', wisp: splitActivator, host: `${SVC}.${SPLIT_NS}.localhost`, atZero: () => kubernetesAtZero(cp, SPLIT_NS), samples: [] },
  ];
  for (let round = 0; round <= TRIALS; round++) {
    const waitStart = Date.now();
    await Promise.all(
      modes.map((m) => waitFor(() => m.atZero(), { timeoutMs: 90_000, intervalMs: 300, what: `${m.name} ${REV} at zero replicas (round ${round})` })),
    );
    checkStopping();
    // Let the replicas' exits, the kubelet's Pod deletion and the EndpointSlice update settle before measuring.
    await new Promise((r) => setTimeout(r, 500));
    const order = round % 2 === 0 ? modes : [...modes].reverse();
    const line: string[] = [];
    for (const m of order) {
      const s = await coldRequest(m.wisp, m.host);
      if (m.name === 'kubernetes') {
        await new Promise((r) => setTimeout(r, 200)); // late watch events (the slice seen after the response is impossible, Pod status is not)
        s.k8s = timeline(recorder.events, s.t0, s.t1 + 200, kubeletLines);
      }
      if (round > 0) m.samples.push(s);
      line.push(`${m.name} total ${s.total.toFixed(1)} own ${s.own.toFixed(1)} overhead ${s.overhead.toFixed(1)} cold ${s.coldHeader}`);
    }
    log(`bench: ${round === 0 ? 'warm-up' : `round ${round}/${TRIALS}`} (waited ${((Date.now() - waitStart) / 1000).toFixed(1)} s for zero): ${line.join(' | ')}`);
  }
  printResults(modes[0]!.samples, modes[1]!.samples, modes[2]!.samples);
}

try {
  await main();
} catch (err) {
  if (!stopping) {
    log(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    for (const w of children) if (w.output.trim()) log(`--- wisp up output (:${w.ports.ingress}) ---\n${w.output.slice(-4000)}`);
    process.exitCode = 1;
  }
} finally {
  if (!stopping) {
    log('bench: stopping everything it started…');
    await cleanup();
    log('bench: stopped.');
  }
}
