/**
 * The test kubelet's Node: registration and heartbeats (Node status + a Lease in kube-node-lease), so Kubernetes'
 * node-lifecycle controller sees a healthy node, as it sees one the real kubelet keeps.
 */
import { arch, cpus, hostname, release, totalmem } from 'node:os';
import {
  ApiException,
  Observable,
  PatchStrategy,
  V1MicroTime,
  type ConfigurationOptions,
  type CoordinationV1Api,
  type CoreV1Api,
  type ObservableMiddleware,
  type RequestContext,
  type V1Lease,
  type V1Node,
} from '@kubernetes/client-node';
import type { Clock, Timer } from '../../../src/clock.js';
import { k8sTime } from './kubelet-status.js';

/** Options for one API call: a deadline (every call has one) and, for patches, the patch type. */
export function callOptions(timeoutMs: number, contentType?: string): ConfigurationOptions<ObservableMiddleware> {
  const middleware: ObservableMiddleware = {
    pre: (ctx: RequestContext) => {
      ctx.setSignal(AbortSignal.timeout(timeoutMs));
      if (contentType) ctx.setHeaderParam('Content-Type', contentType);
      return new Observable(Promise.resolve(ctx));
    },
    post: (res) => new Observable(Promise.resolve(res)),
  };
  return { middleware: [middleware], middlewareMergeStrategy: 'append' };
}

export const API_TIMEOUT_MS = 10_000;
export const mergePatch = (): ConfigurationOptions<ObservableMiddleware> => callOptions(API_TIMEOUT_MS, PatchStrategy.MergePatch);
export const plain = (): ConfigurationOptions<ObservableMiddleware> => callOptions(API_TIMEOUT_MS);

export function statusCode(err: unknown): number | undefined {
  if (err instanceof ApiException) return err.code;
  const c = (err as { code?: unknown; statusCode?: unknown } | null)?.statusCode ?? (err as { code?: unknown } | null)?.code;
  return typeof c === 'number' ? c : undefined;
}

export function errorText(err: unknown): string {
  if (err instanceof ApiException) {
    const body = err.body as { message?: unknown } | string | undefined;
    const msg = typeof body === 'string' ? body : typeof body?.message === 'string' ? body.message : '';
    return `HTTP ${err.code}${msg ? `: ${msg}` : ''}`;
  }
  return err instanceof Error ? err.message : String(err);
}

export interface NodeHeartbeatOptions {
  core: CoreV1Api;
  coordination: CoordinationV1Api;
  nodeName: string;
  hostIP: string;
  podCIDR: string;
  kubeletVersion: string;
  clock: Clock;
  heartbeatMs: number;
  log(line: string): void;
}

const LEASE_NAMESPACE = 'kube-node-lease';
const LEASE_SECONDS = 40;

function nodeStatus(o: NodeHeartbeatOptions): Record<string, unknown> {
  const now = k8sTime(o.clock.now());
  const resources = {
    cpu: String(Math.max(1, cpus().length)),
    memory: `${Math.floor(totalmem() / 1024)}Ki`,
    pods: '110',
    'ephemeral-storage': '100Gi',
  };
  const cond = (type: string, status: string, reason: string, message: string) => ({
    type,
    status,
    reason,
    message,
    lastHeartbeatTime: now,
  });
  return {
    capacity: resources,
    allocatable: resources,
    conditions: [
      cond('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
      cond('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
      cond('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
      cond('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status (Wisp test kubelet)'),
    ],
    addresses: [
      { type: 'InternalIP', address: o.hostIP },
      { type: 'Hostname', address: o.nodeName },
    ],
    daemonEndpoints: { kubeletEndpoint: { Port: 0 } },
    nodeInfo: {
      machineID: hostname(),
      systemUUID: o.nodeName,
      bootID: `wisp-test-kubelet-${process.pid}`,
      kernelVersion: release(),
      osImage: 'Wisp test kubelet (processes, no container runtime)',
      containerRuntimeVersion: 'testkubelet://0.1.0',
      kubeletVersion: o.kubeletVersion,
      kubeProxyVersion: '',
      operatingSystem: 'linux',
      architecture: arch() === 'x64' ? 'amd64' : arch(),
    },
  };
}

/** Keeps `transitionTime`s: a heartbeat carries lastTransitionTime only the first time a condition is written. */
function withTransitions(status: Record<string, unknown>, previous: V1Node | undefined, now: string): Record<string, unknown> {
  const prev = previous?.status?.conditions ?? [];
  const conditions = (status.conditions as Array<Record<string, unknown>>).map((c) => {
    const p = prev.find((x) => x.type === c.type);
    const same = p && p.status === c.status && p.lastTransitionTime;
    return { ...c, lastTransitionTime: same ? new Date(p.lastTransitionTime as unknown as string).toISOString().replace('.000Z', 'Z') : now };
  });
  return { ...status, conditions };
}

/** Registers the Node (or takes over an existing one of that name) and keeps its status and Lease fresh. */
export class NodeHeartbeat {
  readonly #o: NodeHeartbeatOptions;
  #timer: Timer | undefined;
  #node: V1Node | undefined;
  #beating = false;
  #stopped = false;

  constructor(opts: NodeHeartbeatOptions) {
    this.#o = opts;
  }

  /** The Node's uid once registered. */
  get uid(): string | undefined {
    return this.#node?.metadata?.uid;
  }

  async register(): Promise<void> {
    const o = this.#o;
    const body: V1Node = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name: o.nodeName,
        labels: {
          'kubernetes.io/hostname': o.nodeName,
          'kubernetes.io/os': 'linux',
          'kubernetes.io/arch': arch() === 'x64' ? 'amd64' : arch(),
          'wisp.dev/test-kubelet': 'true',
        },
      },
      spec: { podCIDR: o.podCIDR, podCIDRs: [o.podCIDR] },
    };
    try {
      this.#node = await o.core.createNode({ body }, plain());
      o.log(`test kubelet: registered node ${o.nodeName}`);
    } catch (err) {
      if (statusCode(err) !== 409) throw new Error(`test kubelet: register node ${o.nodeName}: ${errorText(err)}`);
      this.#node = await o.core.readNode({ name: o.nodeName }, plain());
      // A node of this name from an earlier run: take it over; its pod CIDR (immutable once set) stays.
      await o.core.patchNode({ name: o.nodeName, body: { metadata: { labels: body.metadata?.labels } } }, mergePatch());
      o.log(`test kubelet: took over existing node ${o.nodeName}`);
    }
    await this.#beat();
  }

  start(): void {
    this.#timer = this.#o.clock.setInterval(() => void this.#beat(), this.#o.heartbeatMs);
  }

  async #beat(): Promise<void> {
    if (this.#beating || this.#stopped) return;
    this.#beating = true;
    try {
      await this.#postStatus();
      await this.#renewLease();
    } catch (err) {
      this.#o.log(`test kubelet: node heartbeat failed (will retry): ${errorText(err)}`);
    } finally {
      this.#beating = false;
    }
  }

  async #postStatus(): Promise<void> {
    const o = this.#o;
    const status = withTransitions(nodeStatus(o), this.#node, k8sTime(o.clock.now()));
    try {
      this.#node = await o.core.patchNodeStatus({ name: o.nodeName, body: { status } }, mergePatch());
    } catch (err) {
      if (statusCode(err) !== 404) throw err;
      o.log(`test kubelet: node ${o.nodeName} was deleted; registering it again`);
      this.#node = undefined;
      this.#node = await o.core.createNode({ body: { apiVersion: 'v1', kind: 'Node', metadata: { name: o.nodeName }, spec: { podCIDR: o.podCIDR, podCIDRs: [o.podCIDR] } } }, plain());
      this.#node = await o.core.patchNodeStatus({ name: o.nodeName, body: { status: withTransitions(nodeStatus(o), undefined, k8sTime(o.clock.now())) } }, mergePatch());
    }
  }

  async #renewLease(): Promise<void> {
    const o = this.#o;
    const uid = this.#node?.metadata?.uid;
    const lease: V1Lease = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: {
        name: o.nodeName,
        namespace: LEASE_NAMESPACE,
        ...(uid ? { ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: o.nodeName, uid }] } : {}),
      },
      spec: { holderIdentity: o.nodeName, leaseDurationSeconds: LEASE_SECONDS, renewTime: new V1MicroTime(o.clock.now()) },
    };
    try {
      const current = await o.coordination.readNamespacedLease({ name: o.nodeName, namespace: LEASE_NAMESPACE }, plain());
      lease.metadata = { ...lease.metadata, resourceVersion: current.metadata?.resourceVersion };
      await o.coordination.replaceNamespacedLease({ name: o.nodeName, namespace: LEASE_NAMESPACE, body: lease }, plain());
    } catch (err) {
      if (statusCode(err) !== 404) throw err;
      await o.coordination.createNamespacedLease({ namespace: LEASE_NAMESPACE, body: lease }, plain());
    }
  }

  stop(): void {
    this.#stopped = true;
    this.#timer?.cancel();
  }
}
