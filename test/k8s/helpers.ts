/**
 * Helpers of the Kubernetes-mode e2e tests: plain Knative YAML (images only), the test kubelet's image map, kubectl
 * reads with jsonpath, and `wisp up --runtime kubernetes` as a user starts it.
 */
import { join } from 'node:path';
import { expect } from 'vitest';
import type { ImageEntry } from '../support/k8s/kubelet.js';
import { ROOT, WispProcess } from '../support/wisp.js';
import { waitFor } from '../support/wait.js';

export const CRDS_DIR = join(ROOT, 'manifests/crds');

/** What the test kubelet runs for the images of these tests (there is no container runtime here). */
export const TEST_IMAGES: Record<string, ImageEntry> = {
  'example.com/hello': { command: [process.execPath, join(ROOT, 'examples/quickstart/hello.js')] },
  'example.com/crash': { command: [process.execPath, join(ROOT, 'test/fixtures/functions/crash.js')] },
  // Knative's event_display, as a recorder: every request is kept and `GET /_seen` answers them as JSON.
  'example.com/event-display': { command: [process.execPath, join(ROOT, 'test/fixtures/functions/sink-recorder.js')], env: { LISTEN_HOST: '0.0.0.0' } },
  // The image of the Knative docs' ContainerSource example: a heartbeat CloudEvent to $K_SINK (with $K_CE_OVERRIDES).
  'gcr.io/knative-nightly/knative.dev/eventing/cmd/heartbeats': { command: [process.execPath, join(ROOT, 'examples/heartbeat/heartbeat.js')], env: { PERIOD_MS: '500' } },
  // A producer that POSTs a CloudEvent to $K_SINK every 300 ms (a SinkBinding subject).
  'example.com/post-to-sink': { command: [process.execPath, join(ROOT, 'test/fixtures/functions/post-to-sink.js')] },
};

/** A Knative Service as the Knative docs write it: an image, no command. */
export function ksvcYaml(opts: {
  name: string;
  namespace: string;
  image?: string;
  target?: string;
  annotations?: Record<string, string>;
  cc?: number;
  revisionName?: string;
  traffic?: string;
}): string {
  const ann = Object.entries(opts.annotations ?? {})
    .map(([k, v]) => `        ${k}: "${v}"`)
    .join('\n');
  const meta = [opts.revisionName ? `      name: ${opts.revisionName}` : '', ann ? `      annotations:\n${ann}` : ''].filter((l) => l !== '').join('\n');
  return `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: ${opts.name}
  namespace: ${opts.namespace}
spec:
  template:
${meta ? `    metadata:\n${meta}\n` : ''}    spec:
      containerConcurrency: ${opts.cc ?? 0}
      containers:
        - image: ${opts.image ?? 'example.com/hello'}
          env:
            - name: TARGET
              value: "${opts.target ?? 'World'}"
${opts.traffic ? `  traffic:\n${opts.traffic}\n` : ''}`;
}

export type Kubectl = (args: readonly string[], opts?: { input?: string; timeoutMs?: number }) => Promise<{ code: number; stdout: string; stderr: string }>;

/** `kubectl get ... -o jsonpath=...`, '' when the object is not there. */
export async function jsonpath(kubectl: Kubectl, ns: string, what: string, path: string): Promise<string> {
  const r = await kubectl(['get', '-n', ns, what, '-o', `jsonpath=${path}`, '--ignore-not-found']);
  return r.code === 0 ? r.stdout.trim() : '';
}

export async function applyYaml(kubectl: Kubectl, yaml: string): Promise<void> {
  const r = await kubectl(['apply', '-f', '-'], { input: yaml });
  expect(r.code, r.stderr).toBe(0);
}

export function waitKsvcReady(kubectl: Kubectl, ns: string, name: string, timeoutMs = 60_000): Promise<string> {
  return waitFor(
    async () => {
      const ready = await jsonpath(kubectl, ns, `ksvc/${name}`, `{.status.conditions[?(@.type=="Ready")].status}`);
      return ready === 'True' ? ready : undefined;
    },
    { timeoutMs, intervalMs: 200, what: `ksvc ${ns}/${name} READY True` },
  );
}

/** The Deployment's `spec.replicas`, or undefined when it does not exist. */
export async function deploymentReplicas(kubectl: Kubectl, ns: string, name: string): Promise<number | undefined> {
  const v = await jsonpath(kubectl, ns, `deploy/${name}`, '{.spec.replicas}');
  return v === '' ? undefined : Number(v);
}

/** `wisp up --runtime kubernetes` against the cluster, scoped to one namespace so parallel test files keep apart. */
export async function startWispOnKubernetes(kubeconfig: string, namespace: string, env: Record<string, string> = {}): Promise<WispProcess> {
  const wisp = await WispProcess.create({ WISP_AUTOSCALER_TICK_MS: '500', ...env });
  await wisp.start([], { args: ['--runtime', 'kubernetes', '--kubeconfig', kubeconfig, '--namespace-scope', namespace] });
  return wisp;
}

/** Restarts the same `wisp up` (same state dir, ports and flags). */
export async function restartWisp(wisp: WispProcess, kubeconfig: string, namespace: string): Promise<void> {
  await wisp.start([], { args: ['--runtime', 'kubernetes', '--kubeconfig', kubeconfig, '--namespace-scope', namespace] });
}

/** The fast scale-to-zero of these tests, in Knative's ConfigMap (read from the cluster in Kubernetes mode). */
export const FAST_AUTOSCALER = `apiVersion: v1
kind: Namespace
metadata:
  name: knative-serving
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: config-autoscaler
  namespace: knative-serving
data:
  stable-window: "6s"
  scale-to-zero-grace-period: "3s"
`;

/** What every e2e file does first: Wisp's CRDs applied and Established, and its own namespace created. */
export async function installCrdsAndNamespace(kubectl: Kubectl, namespace: string): Promise<void> {
  const crds = await kubectl(['apply', '-f', CRDS_DIR]);
  expect(crds.code, crds.stderr).toBe(0);
  const established = await kubectl(['wait', '--for=condition=Established', 'crd', '--all', '--timeout=60s']);
  expect(established.code, established.stderr).toBe(0);
  const created = await kubectl(['create', 'namespace', namespace]);
  expect(created.code, created.stderr).toBe(0);
}

/** The status of condition `type` (default Ready) of `<kind>/<name>`: 'True', 'False', 'Unknown' or '' (none yet). */
export function conditionStatus(kubectl: Kubectl, ns: string, what: string, type = 'Ready'): Promise<string> {
  return jsonpath(kubectl, ns, what, `{.status.conditions[?(@.type=="${type}")].status}`);
}

/** The Knative docs' Broker `default` and a Trigger on it, filtered by `type`, to the ksvc `subscriber`. */
export function brokerTriggerYaml(opts: { namespace: string; trigger: string; type: string; subscriber: string }): string {
  return `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata:
  name: default
  namespace: ${opts.namespace}
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: ${opts.trigger}
  namespace: ${opts.namespace}
spec:
  broker: default
  filter:
    attributes:
      type: ${opts.type}
  subscriber:
    ref:
      apiVersion: serving.knative.dev/v1
      kind: Service
      name: ${opts.subscriber}
`;
}
